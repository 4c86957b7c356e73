"""Storage: SQLModel tables, repository functions and migrations."""
