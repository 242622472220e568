"""Models of the safeguarding app: see ../shared/DESIGN.md."""
