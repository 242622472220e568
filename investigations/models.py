"""Models of the investigations app: see ../shared/DESIGN.md."""
