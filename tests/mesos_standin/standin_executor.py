"""TEST-ONLY STAND-IN, NOT MESOS: what the Mesos 1.11 agent and its command executor do to run a command task.

Pure parts (tested on their own): sandbox paths, the executor and task environment, the command line, which
user runs the task, where each fetched URI goes and whether it is extracted. Thin I/O parts: fetching,
extracting, chmod/chown, starting the process in its own session and signalling its process group.

Sources (apache/mesos 1.11): src/slave/paths.cpp (sandbox layout), src/slave/slave.cpp executorEnvironment(),
src/launcher/executor.cpp (command executor), src/launcher/fetcher.cpp (URI handling), the agent flag
docs (--switch_user, --executor_environment_variables, --frameworks_home). There is no isolation: no
cgroups, namespaces, rootfs or resource limits; the task is a plain child process of the agent.
"""
from __future__ import annotations

import gzip
import json
import os
import pwd
import shutil
import signal
import subprocess
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

HOST_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # os::host_default_path()
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar", ".zip", ".gz")


class LaunchError(Exception):
    """The container cannot be launched; the task gets TASK_FAILED with REASON_CONTAINER_LAUNCH_FAILED."""


# ---------------------------------------------------------------------------------------------------------
# Sandbox.
# ---------------------------------------------------------------------------------------------------------

def sandbox_dir(work_dir: str, agent_id: str, framework_id: str, executor_id: str, container_id: str) -> Path:
    """`<work_dir>/slaves/<agent>/frameworks/<framework>/executors/<executor>/runs/<container>`."""
    return (Path(work_dir) / "slaves" / agent_id / "frameworks" / framework_id / "executors" / executor_id
            / "runs" / container_id)


def make_sandbox(directory: Path) -> None:
    """Create the run directory with empty `stdout`/`stderr` and point `runs/latest` at it, as Mesos does."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("stdout", "stderr"):
        (directory / name).touch()
    latest = directory.parent / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(directory)


# ---------------------------------------------------------------------------------------------------------
# User.
# ---------------------------------------------------------------------------------------------------------

def run_as_user(switch_user: bool, command: Mapping[str, Any], framework_info: Mapping[str, Any]) -> str | None:
    """Who runs the task: with --switch_user (default) `command.user`, else FrameworkInfo.user; without it
    the agent's own user (None). An empty FrameworkInfo.user also means the agent's user: libmesos fills
    in the current user before subscribing, a pure-HTTP driver should do the same."""
    if not switch_user:
        return None
    return command.get("user") or framework_info.get("user") or None


@dataclass(frozen=True)
class Credentials:
    """uid, gid and supplementary groups to switch to (initgroups)."""

    user: str
    uid: int
    gid: int
    groups: tuple[int, ...]
    home: str


def credentials(user: str) -> Credentials:
    """The user's ids; LaunchError worded like Mesos when the user does not exist."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError as err:
        raise LaunchError(f"Failed to get user information for '{user}': user not found") from err
    return Credentials(user, entry.pw_uid, entry.pw_gid, tuple(os.getgrouplist(user, entry.pw_gid)), entry.pw_dir)


def switch_needed(creds: Credentials | None) -> bool:
    """True when the task must run under other ids than the agent's; refused when the agent is not root."""
    if creds is None or creds.uid == os.geteuid():
        return False
    if os.geteuid() != 0:
        raise LaunchError(f"Failed to switch to user '{creds.user}': the agent does not run as root "
                          "(run it with --switch_user=false, as Mesos needs root for --switch_user)")
    return True


def chown_tree(path: Path, creds: Credentials) -> None:
    """`chown -R user:group` of the sandbox, as Mesos does before running a task as another user."""
    os.chown(path, creds.uid, creds.gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), creds.uid, creds.gid, follow_symlinks=False)


# ---------------------------------------------------------------------------------------------------------
# Environment and command line.
# ---------------------------------------------------------------------------------------------------------

def parse_environment_flag(value: str | None) -> dict[str, str] | None:
    """`--executor_environment_variables` (a JSON object of strings) or None when unset."""
    if value is None:
        return None
    decoded = json.loads(value)
    if not isinstance(decoded, dict) or not all(isinstance(v, str) for v in decoded.values()):
        raise ValueError("--executor_environment_variables must be a JSON object whose values are strings")
    return decoded


def executor_environment(*, agent_env: Mapping[str, str], flag_env: Mapping[str, str] | None, directory: Path,
                         framework_id: str, executor_id: str, task_id: str, agent_id: str, agent_ip: str,
                         agent_port: int, shutdown_grace: str) -> dict[str, str]:
    """The command executor's environment (src/slave/slave.cpp executorEnvironment()).

    Base: exactly --executor_environment_variables when set, else the agent's own environment (what the
    executor inherits). PATH defaults to the host default. Then the MESOS_* variables the agent sets.
    MESOS_TASK_ID is a stand-in addition (frameworks often set it themselves; do not rely on Mesos for it).
    """
    env = dict(flag_env) if flag_env is not None else dict(agent_env)
    env.setdefault("PATH", HOST_DEFAULT_PATH)
    env.update({
        "MESOS_FRAMEWORK_ID": framework_id, "MESOS_EXECUTOR_ID": executor_id, "MESOS_TASK_ID": task_id,
        "MESOS_DIRECTORY": str(directory), "MESOS_SANDBOX": str(directory), "MESOS_SLAVE_ID": agent_id,
        "MESOS_AGENT_ENDPOINT": f"{agent_ip}:{agent_port}", "MESOS_SLAVE_PID": f"slave(1)@{agent_ip}:{agent_port}",
        "MESOS_CHECKPOINT": "0", "MESOS_HTTP_COMMAND_EXECUTOR": "0",
        "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": shutdown_grace, "LIBPROCESS_PORT": "0",
    })
    return env


def task_environment(executor_env: Mapping[str, str], command: Mapping[str, Any]) -> dict[str, str]:
    """The task's environment: the executor's plus `command.environment.variables`, the task winning.

    Only type VALUE is served; SECRET needs Mesos' secret resolver, which the stand-in does not have.
    """
    env = dict(executor_env)
    for var in (command.get("environment") or {}).get("variables") or []:
        kind = var.get("type", "VALUE")
        if kind != "VALUE":
            raise LaunchError(f"Environment variable '{var.get('name')}' of type '{kind}' is not supported "
                              "by the TEST-ONLY Mesos stand-in (no secret resolver)")
        env[var["name"]] = var.get("value", "")
    return env


def command_line(command: Mapping[str, Any]) -> tuple[list[str], str]:
    """(argv, executable): `/bin/sh -c value` when `shell` (default true), else `value` exec'd with
    `arguments` as the whole argv (argv[0] included), as Mesos' launcher does."""
    if command.get("shell", True):
        return ["/bin/sh", "-c", command.get("value", "")], "/bin/sh"
    value = command.get("value", "")
    return list(command.get("arguments") or [value]), value


def describe_command(command: Mapping[str, Any]) -> str:
    """`sh -c 'value'` or `value arg...`, for the executor's name in /state."""
    if command.get("shell", True):
        return f"sh -c '{command.get('value', '')}'"
    return " ".join([command.get("value", "")] + list(command.get("arguments") or [])[1:])


# ---------------------------------------------------------------------------------------------------------
# Fetcher.
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FetchItem:
    """Where one CommandInfo.URI comes from and goes to."""

    uri: str
    kind: str  # "http" or "local"
    source: str  # URL or local path
    dest: Path
    extract: bool
    executable: bool


def uri_basename(uri: str) -> str:
    """The file name a URI is fetched to when no `output_file` is given (path part, query dropped)."""
    path = urllib.parse.urlsplit(uri).path if "://" in uri else uri
    return os.path.basename(path.rstrip("/")) or "index.html"


def archive_kind(name: str) -> str | None:
    """The archive suffix Mesos' fetcher would extract (`.tar.gz`, `.zip`, ...), or None."""
    return next((s for s in ARCHIVE_SUFFIXES if name.endswith(s)), None)


def plan_fetch(uri: Mapping[str, Any], sandbox: Path, frameworks_home: str | None) -> FetchItem:
    """Decide how to fetch one CommandInfo.URI (value, output_file, extract (default true), executable).

    http(s):// is downloaded; file:// and absolute paths are copied; relative paths are resolved against
    --frameworks_home (an error without it, as in Mesos). Other schemes (hdfs, s3, ftp...) are not served.
    `output_file` is relative to the sandbox and may contain sub-directories.
    """
    value = uri.get("value", "")
    output = uri.get("output_file") or uri_basename(value)
    dest = (sandbox / output)
    if os.path.isabs(output) or ".." in Path(output).parts:
        raise LaunchError(f"Failed to fetch '{value}': output_file '{output}' must be a path inside the sandbox")
    scheme = urllib.parse.urlsplit(value).scheme.lower() if "://" in value else ""
    if scheme in ("http", "https"):
        kind, source = "http", value
    elif scheme == "file":
        kind, source = "local", urllib.parse.unquote(urllib.parse.urlsplit(value).path)
    elif scheme:
        raise LaunchError(f"Failed to fetch '{value}': scheme '{scheme}' is not supported by the TEST-ONLY "
                          "Mesos stand-in (http, https, file and local paths are)")
    elif os.path.isabs(value):
        kind, source = "local", value
    elif frameworks_home:
        kind, source = "local", os.path.join(frameworks_home, value)
    else:
        raise LaunchError(f"Failed to fetch '{value}': A relative path was passed for the resource but the Mesos "
                          "framework home was not specified. Please either provide this config option or avoid "
                          "using a relative path")
    # Mesos: `executable` wins (chmod 0755, no extraction); else `extract` (default true) unpacks what looks
    # like an archive into the sandbox and keeps anything else as it is.
    executable = bool(uri.get("executable", False))
    extract = bool(uri.get("extract", True)) and not executable and archive_kind(dest.name) is not None
    return FetchItem(value, kind, source, dest, extract, executable)


def download(url: str, dest: Path, timeout: float) -> None:
    """GET a URL into `dest`; LaunchError with curl's wording on HTTP errors."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, dest.open("wb") as out:  # noqa: S310
            shutil.copyfileobj(resp, out)
    except urllib.error.HTTPError as err:
        raise LaunchError(f"Error downloading resource, received HTTP return code {err.code}") from err
    except (urllib.error.URLError, OSError) as err:
        raise LaunchError(f"Error downloading resource: {getattr(err, 'reason', err)}") from err


def extract_archive(path: Path, into: Path) -> None:
    """Unpack a fetched archive into the sandbox (Mesos runs `tar -C dir -xf`, `unzip -o -d`, `gzip -dc`)."""
    kind = archive_kind(path.name)
    if kind == ".zip":
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                target = Path(archive.extract(info, into))
                mode = (info.external_attr >> 16) & 0o7777
                if mode and not info.is_dir():
                    target.chmod(mode)
    elif kind == ".gz":
        with gzip.open(path, "rb") as src, (into / path.name[:-3]).open("wb") as out:
            shutil.copyfileobj(src, out)
    elif kind:
        with tarfile.open(path) as archive:
            if hasattr(tarfile, "tar_filter"):
                archive.extractall(into, filter="tar")
            else:  # pragma: no cover - Pythons without extraction filters
                archive.extractall(into)  # noqa: S202


def fetch(item: FetchItem, sandbox: Path, say: Callable[[str], None], timeout: float = 60.0) -> None:
    """Fetch one URI into the sandbox, writing the fetcher's lines with `say` (they go to the sandbox's
    stderr, as Mesos' fetcher output does). Raises LaunchError naming the URI on failure."""
    say(f"Fetching URI '{item.uri}'")
    say(f"Fetching '{item.uri}' directly into the sandbox directory")
    try:
        item.dest.parent.mkdir(parents=True, exist_ok=True)
        if item.kind == "http":
            say(f"Downloading resource from '{item.source}' to '{item.dest}'")
            download(item.source, item.dest, timeout)
        else:
            say(f"Copying resource with command:cp '{item.source}' '{item.dest}'")
            if not os.path.isfile(item.source):
                raise LaunchError(f"Failed to copy '{item.source}': No such file or directory")
            shutil.copyfile(item.source, item.dest)
        if item.executable:
            item.dest.chmod(0o755)
        elif item.extract:
            extract_archive(item.dest, sandbox)
            say(f"Extracted '{item.dest}' into '{sandbox}'")
    except LaunchError as err:
        raise LaunchError(f"Failed to fetch '{item.uri}': {err}") from err
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError) as err:
        raise LaunchError(f"Failed to fetch '{item.uri}': {err}") from err
    say(f"Fetched '{item.uri}' to '{item.dest}'")


# ---------------------------------------------------------------------------------------------------------
# Process.
# ---------------------------------------------------------------------------------------------------------

def start_process(argv: list[str], executable: str, env: Mapping[str, str], sandbox: Path,
                  creds: Credentials | None) -> subprocess.Popen[bytes]:
    """Start the task in its own session (so its process group can be signalled as a whole) with
    cwd = sandbox, stdout/stderr appended to the sandbox files, as the given user when switching."""
    switch = switch_needed(creds)
    with (sandbox / "stdout").open("ab") as out, (sandbox / "stderr").open("ab") as err:
        kwargs: dict[str, Any] = {}
        if switch and creds is not None:
            kwargs = {"user": creds.uid, "group": creds.gid, "extra_groups": list(creds.groups)}
        return subprocess.Popen(argv, executable=executable, env=dict(env), cwd=sandbox, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=err, start_new_session=True, close_fds=True, **kwargs)


def signal_group(pid: int, sig: int) -> None:
    """Send `sig` to the task's whole process group (its session leader's pid is the group id)."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def sigkill_group(pid: int) -> None:
    """SIGKILL what is left of the process group (Mesos destroys the container after the executor ends)."""
    signal_group(pid, signal.SIGKILL)
