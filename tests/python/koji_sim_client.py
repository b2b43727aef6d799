"""Drives koji-sim with the real `koji` client library (PyPI) to prove it speaks Koji.

Usage: python koji_sim_client.py HUB_URL TOPURL

Every check is an assert; the script prints one line per check and a closing
"N passed, 0 failed" line, and exits non-zero on the first failure.
"""

import sys
import time
import urllib.request

import koji
from koji_fedoramessaging_messages.repo import DoneV1
from koji_fedoramessaging_messages.tag import TagV1, UntagV1
from koji_fedoramessaging_messages.task import TaskStateChangeV1

from checks import check, finish

HUB, TOPURL = sys.argv[1], sys.argv[2]
session = koji.ClientSession(HUB, opts={"anon_retry": True, "max_retries": 2, "retry_interval": 0.1})


def wait(task_id):
    for _ in range(400):
        info = session.getTaskInfo(task_id)
        if info["state"] in (koji.TASK_STATES["CLOSED"], koji.TASK_STATES["CANCELED"], koji.TASK_STATES["FAILED"]):
            return info
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not finish")


def srpm_url(build):
    return "../packages/{0}/{1}/{2}/src/{0}-{1}-{2}.src.rpm".format(build["name"], build["version"], build["release"])


target = session.getBuildTarget("f99")
check("getBuildTarget", target["build_tag_name"] == "f99-build" and target["dest_tag_name"] == "f99", target)
check("getBuildTarget unknown", session.getBuildTarget("nope") is None)
config = session.getBuildConfig(target["build_tag_name"])
check("getBuildConfig", config["arches"] == "x86_64" and config["name"] == "f99-build", config)
inheritance = session.getFullInheritance("f99-build")
check(
    "getFullInheritance",
    [(i["name"], i["currdepth"], i["child_id"]) for i in inheritance] == [("f99", 1, config["id"])],
    inheritance,
)

packages = session.listPackages(tagID="f99", inherited=True)
check("listPackages", len(packages) == 14 and all(not p["blocked"] for p in packages), len(packages))

builds = session.listTagged("f99", latest=True, inherit=True)
by_name = {b["name"]: b for b in builds}
check("listTagged", len(builds) == 14 and by_name["foo-app"]["nvr"] == "foo-app-0.9-3", len(builds))
one = session.listTagged("f99", latest=True, inherit=True, package="broken")
check("listTagged package=", [b["name"] for b in one] == ["broken"], one)

repo = session.getRepo("f99-build", state=koji.REPO_READY)
check("getRepo", repo["state"] == koji.REPO_READY, repo)
info = session.repoInfo(repo["id"])
check("repoInfo", info["create_event"] == repo["create_event"] and info["tag_name"] == "f99-build", info)

groups = session.getTagGroups("f99-build", event=info["create_event"])
build_group = [g for g in groups if g["name"] == "build"][0]
names = [p["package"] for p in build_group["packagelist"] if p["type"] in ("mandatory", "default") and not p["blocked"]]
check("getTagGroups", names == ["bash", "coreutils", "make", "rpm-build"], names)

rpms = session.listRPMs(buildID=by_name["foo-app"]["build_id"], arches="src")
check("listRPMs", len(rpms) == 1 and rpms[0]["arch"] == "src", rpms)
nvra = {k: rpms[0][k] for k in ("name", "version", "release", "arch")}
deps = session.getRPMDeps(nvra, koji.DEP_REQUIRE)
check(
    "getRPMDeps",
    [(d["name"], d["flags"], d["version"]) for d in deps]
    == [("gcc", 0, ""), ("make", 0, ""), ("libfoo-devel", 12, "1.0")],
    deps,
)
headers = session.getRPMHeaders(rpmID=nvra, headers=["BUILDARCHS", "EXCLUDEARCH", "EXCLUSIVEARCH"])
check("getRPMHeaders", headers == {"BUILDARCHS": [], "EXCLUDEARCH": [], "EXCLUSIVEARCH": []}, headers)

repodata = urllib.request.urlopen(f"{TOPURL}/repos/f99-build/{repo['id']}/x86_64/repodata/repomd.xml").read()
check("topurl repodata", b"primary" in repodata)


def scratch(name, **opts):
    task_id = session.build(srpm_url(by_name[name]), None, dict(scratch=True, repo_id=repo["id"], **opts), priority=30)
    return task_id, wait(task_id)


task_id, parent = scratch("foo-app")
check("build resolvable -> CLOSED", parent["state"] == koji.TASK_STATES["CLOSED"], parent)
children = session.getTaskChildren(task_id, request=True)
methods = sorted(c["method"] for c in children)
check("getTaskChildren(request=True) tree", methods == ["buildArch", "rebuildSRPM"], methods)
for c in children:
    repo_id = c["request"][4]["repo_id"] if c["method"] == "buildArch" else c["request"][2]["repo_id"]
    check(f"{c['method']} request carries repo_id", repo_id == repo["id"], c["request"])
check("getTaskResult closed", session.getTaskResult(task_id) is None)
arch_task = [c for c in children if c["method"] == "buildArch"][0]
log = urllib.request.urlopen(f"{TOPURL}/work/tasks/{arch_task['id'] % 10000}/{arch_task['id']}/build.log").read()
check("topurl build.log", len(log) > 0)

# A scratch build's binaries: listTaskOutput and getRPMHeaders(taskID=, filepath=) of
# a scenario build (koji-sim rebuilds the binaries of imported builds).
session._callMethod(
    "sim.importBuild",
    [
        {
            "name": "libdemo",
            "version": "1",
            "release": "1",
            "tag": "f99",
            "binaries": [
                {"name": "libdemo", "arch": "x86_64", "provides": ["libdemo.so.1()(64bit)"],
                 "requires": ["libdemo-data = 1-1", "libc.so.6()(64bit)"]},
                {"name": "libdemo-data", "arch": "noarch"},
            ],
        }
    ],
    {},
)
demo = {"name": "libdemo", "version": "1", "release": "1"}
task_id = session.build(srpm_url(demo), None, dict(scratch=True, repo_id=repo["id"]), priority=30)
parent = wait(task_id)
check("scratch build of an imported build -> CLOSED", parent["state"] == koji.TASK_STATES["CLOSED"], parent)
arch_task = [c for c in session.getTaskChildren(task_id) if c["method"] == "buildArch"][0]
output = session.listTaskOutput(arch_task["id"])
check(
    "listTaskOutput",
    sorted(output) == ["build.log", "libdemo-1-1.x86_64.rpm", "libdemo-data-1-1.noarch.rpm", "root.log"],
    output,
)
check("getTaskResult rpms", sorted(session.getTaskResult(arch_task["id"])["rpms"])
      == [f"work/tasks/{arch_task['id'] % 10000}/{arch_task['id']}/{f}"
          for f in ("libdemo-1-1.x86_64.rpm", "libdemo-data-1-1.noarch.rpm")])
headers = session.getRPMHeaders(
    taskID=arch_task["id"],
    filepath="libdemo-1-1.x86_64.rpm",
    headers=["name", "epoch", "arch", "providename", "provideflags", "provideversion",
             "requirename", "requireflags", "requireversion"],
)
check(
    "getRPMHeaders(taskID, filepath)",
    headers
    == {
        "name": "libdemo", "epoch": None, "arch": "x86_64",
        "providename": ["libdemo", "libdemo.so.1()(64bit)"], "provideflags": [8, 0],
        "provideversion": ["1-1", ""],
        "requirename": ["libdemo-data", "libc.so.6()(64bit)"], "requireflags": [8, 0],
        "requireversion": ["1-1", ""],
    },
    headers,
)
check(
    "getRPMHeaders of a file the task did not produce",
    session.getRPMHeaders(taskID=arch_task["id"], filepath="nothing.rpm") == {},
)

task_id, parent = scratch("broken")
check("build unresolvable -> FAILED", parent["state"] == koji.TASK_STATES["FAILED"], parent)
try:
    session.getTaskResult(task_id)
    check("getTaskResult failed raises", False)
except koji.BuildError as e:
    check("getTaskResult raises koji.BuildError", "mock exited with status 30" in str(e), e)

session.callMethod("sim.setBuildTime", 30)
long_task = session.build(srpm_url(by_name["foo-app"]), "f99", {"scratch": True, "arch_override": "x86_64"}, priority=30)
check("running task is OPEN", session.getTaskInfo(long_task)["state"] == koji.TASK_STATES["OPEN"])
session.cancelTask(long_task)
check("cancelTask", wait(long_task)["state"] == koji.TASK_STATES["CANCELED"])
try:
    session.getTaskResult(long_task)
    check("canceled result raises", False)
except koji.GenericError as e:
    check("canceled result raises GenericError", "canceled" in str(e), e)
session.callMethod("sim.setBuildTime", 0.1)

with session.multicall() as m:
    calls = [m.getTaskInfo(task_id), m.getTaskChildren(task_id, request=True), m.getTaskInfo(long_task), m.noSuchMethod()]
check("multicall getTaskInfo", calls[0].result["id"] == task_id)
check("multicall getTaskChildren", len(calls[1].result) == 2)
check("multicall second task", calls[2].result["state"] == koji.TASK_STATES["CANCELED"])
try:
    calls[3].result
    check("multicall fault kept per call", False)
except koji.GenericError as e:
    check("multicall fault kept per call", "noSuchMethod" in str(e), e)
builds = session.listTasks(opts={"method": "build", "parent": None, "decode": True}, queryOpts={"order": "id"})
check("listTasks top-level builds", builds[-1]["id"] == long_task and all(t["parent"] is None for t in builds), builds)
check("listTasks decode", builds[-1]["request"][1] == "f99" and builds[-1]["request"][2]["scratch"], builds[-1])
canceled = session.listTasks(opts={"method": "build", "state": [koji.TASK_STATES["CANCELED"]]})
check("listTasks state filter", [t["id"] for t in canceled] == [long_task], canceled)
check("listTasks raw request", canceled[0]["request"].startswith("<?xml"), canceled[0]["request"])
check("listTasks createdAfter", session.listTasks(opts={"createdAfter": time.time() + 60}) == [])
count = session.listTasks(opts={"method": "build", "parent": None}, queryOpts={"countOnly": True})
check("listTasks countOnly", count == len(builds), count)
batched = session.multicall(batch=2)
deps_calls = [batched.getRPMDeps(nvra, koji.DEP_REQUIRE) for _ in range(5)]
batched.call_all()
check("multicall batches", all(len(c.result) == 3 for c in deps_calls))

try:
    session.listTagged("no-such-tag")
    check("unknown tag faults", False)
except koji.GenericError as e:
    check("unknown tag faults with GenericError", "No such tagInfo" in str(e), e)

# Scenario scripting and the messages Koji would have published.
session.callMethod("sim.importBuild", {"name": "libfoo", "version": "2.0", "release": "1",
                                       "buildrequires": ["gcc"], "tag": "f99",
                                       "binaries": [{"name": "libfoo"}, {"name": "libfoo-devel", "requires": ["libfoo = 2.0-1"]}]})
session.callMethod("sim.untagBuild", "f99", "libfoo-2.0-1")
new_repo = session.callMethod("sim.regenRepo")
check("sim.regenRepo gives a new repo id", new_repo > repo["id"], new_repo)
classes = {
    "buildsys.task.state.change": TaskStateChangeV1,
    "buildsys.tag": TagV1,
    "buildsys.untag": UntagV1,
    "buildsys.repo.done": DoneV1,
}
seen = set()
for message in session.callMethod("sim.messages"):
    short = message["topic"].replace("org.fedoraproject.prod.", "")
    cls = classes[short]
    cls(topic=message["topic"], body=message["body"]).validate()
    seen.add(short)
check("messages validate against koji-fedoramessaging-messages schemas", seen == set(classes), seen)

finish()
