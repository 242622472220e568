"""Models of the victims app: see ../shared/DESIGN.md."""
