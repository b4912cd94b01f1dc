"""Runs a Tiltfile against stand-ins for Tilt's built-ins and prints what it declares, as JSON.

Usage: python3 tilt_standins.py TILTFILE [ROOT] [SUBCOMMAND] [-- ARGS...]
(ROOT, the directory paths are resolved against, defaults to the Tiltfile's;
ARGS are what follows `--` on Tilt's command line, read by config.parse().)

Starlark is close enough to a Python subset that the Tiltfile executes here
unchanged (buildifier checks that it is valid Starlark). Each stand-in has the
signature of Tilt's own function (internal/tiltfile/api/__init__.py in
tilt-dev/tilt), so an undefined name raises NameError and a wrong keyword raises
TypeError, as `tilt up` would fail. Nothing runs: `local` commands are recorded,
`kustomize` is returned as a marker the caller renders with kubectl, and a file
that does not exist yet (made by a recorded command) reads as a placeholder, as
does every file under .dev/: the stand-ins never read the developer's real
password or keys, so a check can tell where such a value ends up.
"""

import json
import os
import sys
import traceback

_ARGV = sys.argv[1:sys.argv.index("--")] if "--" in sys.argv else sys.argv[1:]
TILT_ARGS = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
TILTFILE = os.path.abspath(_ARGV[0])
ROOT = os.path.abspath(_ARGV[1]) if len(_ARGV) > 1 else os.path.dirname(TILTFILE)
SUBCOMMAND = _ARGV[2] if len(_ARGV) > 2 else "up"

declared = {
    "docker_builds": [],
    "k8s_yaml": [],
    "k8s_resources": [],
    "local_resources": [],
    "local_commands": [],
    "local_calls": [],
    "files_read": [],
    "allowed_contexts": [],
    "ci_settings": None,
    "config": {"settings": {}, "parsed": None, "enabled_resources": None},
    "problems": [],
}


class Blob:
    def __init__(self, text, origin):
        self.text = text
        self.origin = origin

    def __str__(self):
        return self.text

    def __repr__(self):
        return self.text


class TriggerMode:
    def __init__(self, name):
        self.name = name


TRIGGER_MODE_AUTO = TriggerMode("auto")
TRIGGER_MODE_MANUAL = TriggerMode("manual")


def _problem(message):
    declared["problems"].append(message)


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _rel(path):
    """A path as Tilt resolves it: relative to the Tiltfile's directory."""
    return os.path.relpath(os.path.join(ROOT, path), ROOT)


def _yaml_entry(value):
    if isinstance(value, Blob):
        return value.origin if isinstance(value.origin, dict) and "kustomize" in value.origin else {"text": value.text}
    if isinstance(value, str):
        return {"file": _rel(value)}
    raise TypeError("k8s_yaml: expected a path, a list of paths or a Blob, got %s" % type(value).__name__)


# ---- Live update steps
def fall_back_on(files):
    return {"step": "fall_back_on", "files": [_rel(f) for f in _as_list(files)]}


def initial_sync():
    return {"step": "initial_sync"}


def sync(local_path, remote_path):
    return {"step": "sync", "local_path": _rel(local_path), "remote_path": remote_path}


def run(cmd, trigger=[], echo_off=False):
    return {"step": "run", "cmd": cmd, "trigger": [_rel(t) for t in _as_list(trigger)]}


def restart_container():
    return {"step": "restart_container"}


def _check_live_update(ref, steps):
    order = {"initial_sync": 0, "fall_back_on": 1, "sync": 2, "run": 3, "restart_container": 4}
    last = -1
    for step in steps:
        if not isinstance(step, dict) or "step" not in step:
            _problem("docker_build(%s): live_update holds something that is not a live update step" % ref)
            continue
        rank = order[step["step"]]
        if rank < last:
            _problem("docker_build(%s): live_update step %s is out of order (fall_back_on, sync, run)" % (ref, step["step"]))
        last = max(last, rank)
        if step["step"] == "sync" and not step["remote_path"].startswith("/"):
            _problem("docker_build(%s): sync remote path %s must be absolute" % (ref, step["remote_path"]))


# ---- Images and Kubernetes
def docker_build(ref, context, build_args={}, dockerfile="Dockerfile", dockerfile_contents="",
                 live_update=[], match_in_env_vars=False, ignore=[], only=[], entrypoint=[], target="",
                 ssh="", network="", secret="", extra_tag="", container_args=None, cache_from=[], pull=False,
                 platform="", extra_hosts=[]):
    _check_live_update(ref, live_update)
    for path in _as_list(only):
        if "*" in path:  # as Tilt refuses them (internal/tiltfile/docker.go, parseOnly)
            raise ValueError("'only' does not support '*' file globs. Must be a real path: %s" % path)
    declared["docker_builds"].append({
        "ref": ref,
        "context": _rel(context),
        "dockerfile": _rel(dockerfile),
        "target": target,
        "build_args": dict(build_args),
        "ignore": _as_list(ignore),
        "only": [_rel(p) for p in _as_list(only)],
        "live_update": list(live_update),
        "entrypoint": _as_list(entrypoint),
    })


def k8s_yaml(yaml, allow_duplicates=False):
    for item in _as_list(yaml):
        declared["k8s_yaml"].append(_yaml_entry(item))


def k8s_resource(workload="", new_name="", port_forwards=[], extra_pod_selectors=[], trigger_mode=TRIGGER_MODE_AUTO,
                 resource_deps=[], objects=[], auto_init=True, pod_readiness="", links=[], labels=[],
                 discovery_strategy=""):
    if not workload and not (new_name and objects):
        _problem("k8s_resource: give a workload, or new_name with objects")
    declared["k8s_resources"].append({
        "workload": workload,
        "new_name": new_name,
        "port_forwards": [str(p) for p in _as_list(port_forwards)],
        "resource_deps": list(resource_deps),
        "objects": list(objects),
        "auto_init": bool(auto_init),
        "links": [l if isinstance(l, dict) else {"url": l, "name": None} for l in _as_list(links)],
        "labels": _as_list(labels),
        "trigger_mode": trigger_mode.name,
    })


def local_resource(name, cmd, deps=None, trigger_mode=TRIGGER_MODE_AUTO, resource_deps=[], ignore=[], auto_init=True,
                   serve_cmd="", cmd_bat="", serve_cmd_bat="", allow_parallel=False, links=[], labels=[], env={},
                   serve_env={}, readiness_probe=None, dir="", serve_dir=""):
    declared["local_resources"].append({
        "name": name,
        "cmd": cmd,
        "deps": [_rel(d) for d in _as_list(deps)],
        "resource_deps": list(resource_deps),
        "auto_init": bool(auto_init),
        "trigger_mode": trigger_mode.name,
        "labels": _as_list(labels),
        "env": dict(env),
        "ignore": _as_list(ignore),
        "serve_cmd": serve_cmd,
        "links": [l if isinstance(l, dict) else {"url": l, "name": None} for l in _as_list(links)],
    })


def link(url, name=None):
    return {"url": url, "name": name}


def port_forward(local_port, container_port=None, name=None, link_path=None, host=None):
    return "%s:%s" % (local_port, container_port or local_port)


def kustomize(pathToDir, kustomize_bin=None, flags=[]):
    return Blob("", {"kustomize": _rel(pathToDir), "flags": list(flags)})


def helm(pathToChartDir, name="", namespace="", values=[], set=[], kube_version="", skip_crds=False):
    _problem("helm: not used by this project's stand-ins")
    return Blob("", {"helm": pathToChartDir})


# ---- Host
def local(command, quiet=False, command_bat="", echo_off=False, env={}, dir="", stdin=None):
    declared["local_commands"].append(command if isinstance(command, str) else " ".join(command))
    declared["local_calls"].append({
        "command": command if isinstance(command, str) else " ".join(command),
        "quiet": bool(quiet),
        "echo_off": bool(echo_off),
    })
    return Blob("", {"local": command})


def _generated(file_path):
    return _rel(file_path).split(os.sep)[0] == ".dev"


def read_file(file_path, default=None):
    path = os.path.join(ROOT, file_path)
    declared["files_read"].append(_rel(file_path))
    if os.path.exists(path) and not _generated(file_path):
        with open(path) as f:
            return Blob(f.read(), {"file": _rel(file_path)})
    if default is not None:
        return Blob(default, {"default": _rel(file_path)})
    # Made by a `local` command on a real run; the caller checks that one was recorded.
    return Blob("<generated:%s>" % _rel(file_path), {"generated": _rel(file_path)})


def read_json(path, default=None):
    full = os.path.join(ROOT, path)
    declared["files_read"].append(_rel(path))
    if not os.path.exists(full) and default is not None:
        return default
    with open(full) as f:  # a missing file fails the load, as in Tilt
        return json.load(f)


def watch_file(file_path):
    pass


def listdir(directory, recursive=False):
    # As Tilt's (internal/tiltfile/io/io.go): absolute paths of files only; directories are
    # walked when recursive (and then watched, so every change under them reloads the Tiltfile).
    base = os.path.join(ROOT, directory)
    found = []
    for current, _dirs, files in os.walk(base):
        found.extend(os.path.join(current, f) for f in files)
        if not recursive:
            break
    return sorted(found)


def blob(contents):
    return Blob(contents, {"blob": True})


def encode_yaml(obj):
    # JSON is YAML; the caller parses it with a YAML parser.
    return Blob(json.dumps(obj), {"encode_yaml": True})


def encode_json(obj):
    return Blob(json.dumps(obj), {"encode_json": True})


def decode_json(json_text):
    return json.loads(str(json_text))


# ---- Settings
def allow_k8s_contexts(contexts):
    declared["allowed_contexts"].extend(_as_list(contexts))


def update_settings(max_parallel_updates=3, k8s_upsert_timeout_secs=30, suppress_unused_image_warnings=None,
                    k8s_server_side_apply="auto"):
    pass


def ci_settings(k8s_grace_period=None, timeout=None, readiness_timeout=None):
    # Only what the Tiltfile passes: a `timeout` here overrides `tilt ci --timeout`.
    given = {"k8s_grace_period": k8s_grace_period, "timeout": timeout, "readiness_timeout": readiness_timeout}
    declared["ci_settings"] = {key: value for key, value in given.items() if value is not None}


def watch_settings(ignore):
    pass


def version_settings(check_updates=True, constraint=""):
    pass


def secret_settings(disable_scrub=False):
    pass


def docker_prune_settings(disable=False, max_age_mins=360, num_builds=0, interval_hrs=1, keep_recent=2):
    pass


def default_registry(host, host_from_cluster=None, single_name=""):
    pass


def trigger_mode(trigger_mode):
    pass


def k8s_context():
    return "kind-voting"


def k8s_namespace():
    return "default"


def warn(msg):
    pass


def fail(msg):
    raise RuntimeError("fail(): %s" % msg)


class _Path:
    @staticmethod
    def exists(path):
        return os.path.exists(os.path.join(ROOT, path))

    @staticmethod
    def join(path, *paths):
        return os.path.join(path, *paths)

    @staticmethod
    def abspath(path):
        return os.path.abspath(os.path.join(ROOT, path))


class _Os:
    path = _Path()
    environ = {}

    @staticmethod
    def getenv(key, default=None):
        return default


class _Config:
    """Tilt's `config` module (internal/tiltfile/api/config/__init__.py): settings
    defined by the Tiltfile, parsed from the args after `--` (no tilt_config.json
    here: the checks load the Tiltfile as a fresh checkout would)."""

    tilt_subcommand = SUBCOMMAND
    main_path = TILTFILE
    main_dir = os.path.dirname(TILTFILE)

    @staticmethod
    def _define(name, kind, args, usage):
        settings = declared["config"]["settings"]
        if name in settings:
            raise ValueError("config.define_%s: %s is already defined" % (kind, name))
        if args and any(s["args"] for s in settings.values()):
            raise ValueError("config.define_%s: only one setting may take the positional args" % kind)
        settings[name] = {"type": kind, "args": bool(args), "usage": usage}

    @staticmethod
    def define_bool(name, args=False, usage=""):
        _Config._define(name, "bool", args, usage)

    @staticmethod
    def define_string(name, args=False, usage=""):
        _Config._define(name, "string", args, usage)

    @staticmethod
    def define_string_list(name, args=False, usage=""):
        _Config._define(name, "string_list", args, usage)

    @staticmethod
    def parse():
        # As Tilt's flag set: --name or --name=value for a bool, --name value (or
        # --name=value) for the others, a list setting repeatable; anything else
        # is positional, for the setting defined with args=True, if any.
        settings = declared["config"]["settings"]
        parsed = {}
        positional = []
        i = 0
        while i < len(TILT_ARGS):
            arg = TILT_ARGS[i]
            i += 1
            if not arg.startswith("--"):
                positional.append(arg)
                continue
            name, has_value, value = arg[2:].partition("=")
            setting = settings.get(name)
            if setting is None or setting["args"]:
                raise ValueError("config.parse: flag provided but not defined: -%s" % name)
            if setting["type"] == "bool":
                if has_value and value not in ("true", "True", "false", "False", "1", "0"):
                    raise ValueError("config.parse: invalid boolean value %r for -%s" % (value, name))
                parsed[name] = (not has_value) or value in ("true", "True", "1")
                continue
            if not has_value:
                if i >= len(TILT_ARGS):
                    raise ValueError("config.parse: flag needs an argument: -%s" % name)
                value = TILT_ARGS[i]
                i += 1
            if setting["type"] == "string_list":
                parsed.setdefault(name, []).append(value)
            else:
                parsed[name] = value
        if positional:
            target = [n for n, s in settings.items() if s["args"]]
            if not target:
                raise ValueError("config.parse: positional args %s, but no setting takes args" % positional)
            setting = settings[target[0]]
            if setting["type"] == "string_list":
                parsed[target[0]] = positional
            elif len(positional) > 1:
                raise ValueError("config.parse: %s takes one arg, got %s" % (target[0], positional))
            else:
                parsed[target[0]] = positional[0] if setting["type"] == "string" else positional[0] in ("true", "True")
        declared["config"]["parsed"] = parsed
        return dict(parsed)

    @staticmethod
    def set_enabled_resources(resources):
        declared["config"]["enabled_resources"] = list(resources)

    @staticmethod
    def clear_enabled_resources():
        declared["config"]["enabled_resources"] = []


def load(path, *symbols):
    raise RuntimeError("load(%s): extensions are fetched from the network; this project uses none" % path)


def main():
    names = {name: value for name, value in globals().items() if not name.startswith("_")}
    for private in ("declared", "TILTFILE", "ROOT", "SUBCOMMAND", "TILT_ARGS", "Blob", "TriggerMode", "main", "json",
                    "sys", "traceback"):
        names.pop(private, None)
    names["os"] = _Os()
    names["config"] = _Config()
    names["__file__"] = TILTFILE
    names["__name__"] = "__main__"
    with open(TILTFILE) as f:
        source = f.read()
    os.chdir(ROOT)
    try:
        exec(compile(source, TILTFILE, "exec"), names)
    except Exception as error:  # what `tilt up` would show as a Tiltfile load error
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == TILTFILE]
        line = frames[-1].lineno if frames else None
        declared["error"] = {"type": type(error).__name__, "message": str(error), "line": line}
    print(json.dumps(declared, indent=1))


main()
