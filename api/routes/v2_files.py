"""v2's output-file route (`files.task_output` in browser-use-sdk 3.x): a task's
file by the id its view gives (`outputFiles[].id`), with a signed download URL."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status

from api.deps import OwnerV2, SessionDep
from api.owned import GONE, NOT_FOUND, get_task_with_files
from api.v2_mapping import output_file_id
from api.v2_schemas import OutputFileResponseV2
from shared.storage import Storage, get_storage, names

router = APIRouter(prefix="/api/v2", tags=["v2"])


@router.get(
    "/files/tasks/{task_id}/output-files/{file_id}",
    response_model=OutputFileResponseV2,
    responses={**NOT_FOUND, **GONE},
)
def task_output_file_v2(
    task_id: str,
    file_id: str,
    session: SessionDep,
    owner_id: OwnerV2,
    storage: Annotated[Storage, Depends(get_storage)],
) -> OutputFileResponseV2:
    task = get_task_with_files(session, owner_id, task_id)
    name = next((n for n in task.output_files or [] if output_file_id(task.id, n) == file_id), None)
    if name is None or storage.stat(names.output_key(task.id, name)) is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"Output file {file_id!r} not found: the ids are in the task's outputFiles"
        )
    url = storage.url_for_get(names.output_key(task.id, name), download_name=name)
    return OutputFileResponseV2(id=file_id, file_name=name, download_url=url)
