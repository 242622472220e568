"""Models of the referrals app: see ../shared/DESIGN.md."""
