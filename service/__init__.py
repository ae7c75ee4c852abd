"""HTTP service, storage and dashboard of tryggplan (FastAPI + SQLAlchemy 2 + Alembic)."""
