"""Drives koji-sim's tag, group and external-repo calls with the real `koji` client library
(PyPI): the calls secondary mode's repo regeneration makes on the primary hub.

Usage: python koji_sim_secondary.py HUB_URL TOPURL

Every check is an assert; the script prints one line per check and a closing
"N passed, 0 failed" line, and exits non-zero on the first failure.
"""

import sys
import time

import koji

from checks import check, finish

HUB, TOPURL = sys.argv[1], sys.argv[2]
session = koji.ClientSession(HUB, opts={"anon_retry": True, "max_retries": 2, "retry_interval": 0.1})


def generic_error(call, *args, **kwargs):
    """The message of the koji.GenericError the call raises (None when it does not)."""
    try:
        call(*args, **kwargs)
    except koji.GenericError as e:
        return str(e)
    return None


# Tags and target, as missing ones are created on the primary.
check("getTag unknown", session.getTag("s99-build") is None)
session.createTag("s99", arches="x86_64,aarch64")
session.createTag("s99-build", arches="x86_64,aarch64")
check("createTag arches", session.getTag("s99-build")["arches"] == "x86_64 aarch64", session.getTag("s99-build"))
session.createBuildTarget("s99", "s99-build", "s99")
target = session.getBuildTarget("s99")
check("createBuildTarget", (target["build_tag_name"], target["dest_tag_name"]) == ("s99-build", "s99"), target)

# Build groups copied in one multicall.
source = [g for g in session.getTagGroups("f99-build") if g["name"] == "build"][0]
with session.multicall(strict=True) as m:
    m.groupListAdd("s99-build", "build")
    for p in source["packagelist"]:
        m.groupPackageListAdd("s99-build", "build", p["package"], type=p["type"], block=p["blocked"])
copied = [g for g in session.getTagGroups("s99-build") if g["name"] == "build"][0]
check(
    "groupListAdd/groupPackageListAdd in a multicall",
    sorted((p["package"], p["type"]) for p in copied["packagelist"])
    == sorted((p["package"], p["type"]) for p in source["packagelist"]),
    copied,
)
message = generic_error(session.groupPackageListAdd, "s99-build", "no-such-group", "bash")
check("groupPackageListAdd to a missing group", message and "not present in tag" in message, message)

# External repos.
url = f"{TOPURL}/repos/f99-build/1000/$arch"
check("getExternalRepo unknown", session.getExternalRepo("s99-1000") is None)
created = session.createExternalRepo("s99-1000", url)
check("createExternalRepo appends a slash", created["url"] == url + "/" and created["name"] == "s99-1000", created)
check("getExternalRepo", session.getExternalRepo("s99-1000") == created, session.getExternalRepo("s99-1000"))
message = generic_error(session.createExternalRepo, "s99-1000", url)
check("createExternalRepo duplicate", message and "already exists" in message, message)
other = session.createExternalRepo("s99-other", TOPURL + "/other/")
session.addExternalRepoToTag("s99-build", "s99-other", 5)
session.addExternalRepoToTag("s99-build", created["name"], 0)
repos = session.getTagExternalRepos("s99-build")
check("getTagExternalRepos ordered by priority", [(r["external_repo_name"], r["priority"]) for r in repos]
      == [("s99-1000", 0), ("s99-other", 5)], repos)
check("getTagExternalRepos fields", repos[0]["url"] == url + "/" and repos[0]["tag_name"] == "s99-build"
      and repos[0]["merge_mode"] == "koji", repos[0])
check("getTagExternalRepos by repo", [r["tag_name"] for r in session.getTagExternalRepos(repo_info=other["id"])]
      == ["s99-build"])
message = generic_error(session.addExternalRepoToTag, "s99-build", "s99-other", 7)
check("addExternalRepoToTag twice", message and "already associated with external repo" in message, message)
third = session.createExternalRepo("s99-third", TOPURL + "/third/")
message = generic_error(session.addExternalRepoToTag, "s99-build", third["id"], 0)
check("addExternalRepoToTag taken priority", message and "at priority 0" in message, message)
message = generic_error(session.getTagExternalRepos, "no-such-tag")
check("getTagExternalRepos unknown tag", message and "No such tagInfo" in message, message)
for r in session.getTagExternalRepos("s99-build"):
    session.removeExternalRepoFromTag("s99-build", r["external_repo_id"])
check("removeExternalRepoFromTag", session.getTagExternalRepos("s99-build") == [])
message = generic_error(session.removeExternalRepoFromTag, "s99-build", "s99-1000")
check("removeExternalRepoFromTag not associated", message and "not associated with tag" in message, message)

# newRepo: a task whose createrepo child names the new repo.
task_id = session.newRepo("s99-build")
for _ in range(400):
    info = session.getTaskInfo(task_id)
    if info["state"] in (koji.TASK_STATES["CLOSED"], koji.TASK_STATES["FAILED"]):
        break
    time.sleep(0.05)
check("newRepo task closes", info["method"] == "newRepo" and info["state"] == koji.TASK_STATES["CLOSED"], info)
children = session.getTaskChildren(task_id, request=True)
check("newRepo createrepo child", [c["method"] for c in children] == ["createrepo"], children)
repo = session.repoInfo(children[0]["request"][0])
check("newRepo repo READY", repo["tag_name"] == "s99-build" and repo["state"] == koji.REPO_READY, repo)

finish()
