"""The files a command writes: each in one step (a crash leaves the old file or the new one, never a torn
one), and a file system error as a problem the user can fix, in one line."""

import os

from makemore import MakemoreError


def replace(path, write):
    """Call write(temporary path), then move the result onto `path` in one step (atomic on POSIX).

    Used for every file a run writes; a file system error (a full disk, a read-only folder) is a MakemoreError
    naming `path`, and leaves no temporary file behind.
    """
    tmp = f"{path}.{os.getpid()}.tmp"  # processes writing one file at once each use their own
    try:
        write(tmp)
        os.replace(tmp, path)
    except Exception as e:
        cause = _os_error(e)
        if cause is None:
            raise
        raise MakemoreError(f"cannot write {path}: {cause.strerror or cause}") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _os_error(error):
    """The OSError behind an error, if any: torch reports a write that failed as a RuntimeError of its own,
    raised while it handles the OSError."""
    while error is not None and not isinstance(error, OSError):
        error = error.__context__
    return error


def file_error(error, folder=None):
    """An OSError as a problem the user can fix, in one line: the path (where the error names none, the folder
    being written) and the cause."""
    path = error.filename or folder
    return MakemoreError(f"{path}: {error.strerror or error}" if path else str(error))
