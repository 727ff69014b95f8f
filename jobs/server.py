"""ASGI entry point for uvicorn (`jobs.server:app`): the API with the scheduled jobs running beside it."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app
from api.config import Settings, get_settings
from jobs.scheduler import scheduled_jobs


def create_server_app(settings: Settings | None = None) -> FastAPI:
    """The API for these settings (the environment's when omitted) with its scheduled jobs."""
    settings = settings or get_settings()
    return create_app(settings, jobs=scheduled_jobs(settings))


app = create_server_app()
