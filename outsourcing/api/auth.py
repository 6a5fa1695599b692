"""Optional bearer token (API_TOKEN) for deployments beyond localhost."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

bearer = HTTPBearer(auto_error=False, description="the API_TOKEN of the server, when it has one")


async def require_token(request: Request,
                        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
    token: str | None = request.app.state.settings.api_token
    if not token:
        return
    given = credentials.credentials if credentials is not None else ""
    if not secrets.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
        raise HTTPException(401, detail="missing or wrong bearer token (Authorization: Bearer <API_TOKEN>)",
                            headers={"WWW-Authenticate": "Bearer"})
