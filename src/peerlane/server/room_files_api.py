"""Room files: the list a participant may see, downloads, and deleting one.

They are uploaded through the tus endpoint under the room's path (``server/tus_api.py``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from peerlane.errors import ErrorCode, ForbiddenError, NotFoundError
from peerlane.files.records import StoredFile
from peerlane.server.api_deps import Who, base_url
from peerlane.server.auth import Caller
from peerlane.server.file_routes import FileOut, Svc, download, file_out, route_each_method
from peerlane.server.services import Services

router = APIRouter(prefix="/api")


class FilesOut(BaseModel):
    files: list[FileOut]


async def room_file(svc: Services, who: Caller, file_id: str) -> StoredFile:
    file = await svc.store.get_file(file_id)
    if (
        file is None
        or file.room_id != who.room.id
        or not file.complete
        or not file.visible_to(who.participant.id)
    ):
        raise NotFoundError(ErrorCode.FILE_NOT_FOUND)
    return file


@router.get("/rooms/{room_id}/files")
async def list_room_files(request: Request, who: Who, svc: Svc) -> FilesOut:
    """The room's complete files this participant may see."""
    base = base_url(request, svc)
    found = await svc.store.list_files(room_id=who.room.id)
    return FilesOut(
        files=[
            file_out(f, f"{base}/api/rooms/{who.room.id}/files/{f.id}", room=True)
            for f in found
            if f.visible_to(who.participant.id)
        ]
    )


async def download_room_file(file_id: str, request: Request, who: Who, svc: Svc) -> Response:
    file = await room_file(svc, who, file_id)
    return await download(request, svc, file, max_downloads=None, cacheable=True)


@router.delete("/rooms/{room_id}/files/{file_id}", status_code=204)
async def delete_room_file(file_id: str, who: Who, svc: Svc) -> Response:
    """The sender (or the room's owner) deletes a file."""
    file = await room_file(svc, who, file_id)
    if who.participant.id != file.sender_id and not who.is_owner:
        raise ForbiddenError(ErrorCode.FORBIDDEN, "Only the sender can delete this file.")
    await svc.uploads.delete(file.id)
    return Response(status_code=204)


route_each_method(router, "/rooms/{room_id}/files/{file_id}", download_room_file, ["GET", "HEAD"])
