"""Drives koji-sim's side tags (Koji's sidetag hub plugin) with the real `koji` client
library (PyPI): create one on the build tag, change a library in it, build against its
repo, remove it.

Usage: python koji_sim_sidetags.py HUB_URL TOPURL

Every check is an assert; the script prints one line per check and a closing
"N passed, 0 failed" line, and exits non-zero on the first failure.
"""

import gzip
import re
import sys
import time
import urllib.error
import urllib.request

import koji
from koji_fedoramessaging_messages.repo import DoneV1

from checks import check, finish

HUB, TOPURL = sys.argv[1], sys.argv[2]
session = koji.ClientSession(HUB, opts={"anon_retry": True, "max_retries": 2, "retry_interval": 0.1})


def fault(call, *args, **kwargs):
    """The koji.GenericError (or subclass) the call raises (None when it does not)."""
    try:
        call(*args, **kwargs)
    except koji.GenericError as e:
        return e
    return None


def wait(task_id):
    for _ in range(400):
        info = session.getTaskInfo(task_id)
        if info["state"] in (koji.TASK_STATES["CLOSED"], koji.TASK_STATES["CANCELED"], koji.TASK_STATES["FAILED"]):
            return info
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not finish")


def scratch(target, name, **opts):
    build = session.listTagged("f99", inherit=True, latest=True, package=name)[0]
    src = "../packages/{0}/{1}/{2}/src/{0}-{1}-{2}.src.rpm".format(build["name"], build["version"], build["release"])
    return wait(session.build(src, target, dict(scratch=True, **opts), priority=30))


def primary_xml(tag, repo_id):
    base = f"{TOPURL}/repos/{tag}/{repo_id}/x86_64/"
    repomd = urllib.request.urlopen(base + "repodata/repomd.xml").read().decode()
    href = re.search(r'<data type="primary">.*?<location href="([^"]+)"', repomd, re.S).group(1)
    return gzip.decompress(urllib.request.urlopen(base + href).read()).decode()


def repo_done(tag):
    """The repo ids of the buildsys.repo.done messages of `tag` (each validated)."""
    ids = []
    for m in session.callMethod("sim.messages"):
        if m["topic"].endswith(".buildsys.repo.done") and m["body"]["tag"] == tag:
            DoneV1(topic=m["topic"], body=m["body"]).validate()
            ids.append(m["body"]["repo_id"])
    return ids


# Like the plugin, the side-tag calls need a login. The real client's ssl_login insists
# on HTTPS, so the session comes from the hub's sslLogin directly.
e = fault(session.createSideTag, "f99-build")
check("createSideTag anonymous -> ActionNotAllowed", isinstance(e, koji.ActionNotAllowed), e)
session.setSession(session._callMethod("sslLogin", [], {}))
me = session.getLoggedInUser()

side = session.createSideTag("f99-build")
name = side["name"]
check("createSideTag names <basetag>-side-<id>", name == f"f99-build-side-{side['id']}", side)
check("createSideTag: no repo request (the repo is made at once)", side["task_id"] is None and side["request"] is None, side)
other = session.createSideTag(basetag="f99", debuginfo=True, suffix="stack")
check("createSideTag suffix", other["name"] == f"f99-side-{other['id']}-stack", other)
check("createSideTag unknown base tag", "No such tagInfo" in str(fault(session.createSideTag, "nope")))

tag = session.getTag(name)
check(
    "getTag extra",
    tag["extra"] == {"sidetag": True, "sidetag_user": me["name"], "sidetag_user_id": me["id"]}
    and tag["arches"] == "x86_64",
    tag,
)
check("getTag extra with_debuginfo", session.getTag(other["id"])["extra"].get("with_debuginfo") is True)
target = session.getBuildTarget(name)
check("getBuildTarget of the side tag", target["build_tag_name"] == name and target["dest_tag_name"] == name, target)
inheritance = session.getFullInheritance(name)
check(
    "side tag inherits from f99-build (and so from f99)",
    [(i["name"], i["currdepth"]) for i in inheritance] == [("f99-build", 1), ("f99", 2)],
    inheritance,
)

mine = [(t["name"], t["user_id"], t["user_name"]) for t in session.listSideTags()]
check("listSideTags", mine == [(name, str(me["id"]), me["name"]), (other["name"], str(me["id"]), me["name"])], mine)
check("listSideTags basetag=", [t["name"] for t in session.listSideTags(basetag="f99-build")] == [name])
check("listSideTags user=", len(session.listSideTags(user=me["name"])) == 2 and session.listSideTags(user="releng") == [])
check("listSideTags unknown user", "No such user" in str(fault(session.listSideTags, user="nobody")))
check("listSideTags queryOpts countOnly", session.listSideTags(queryOpts={"countOnly": True}) == 2)
newest = session.listSideTags(queryOpts={"order": "-id", "limit": 1})
check("listSideTags queryOpts order/limit", [t["name"] for t in newest] == [other["name"]], newest)

first = session.getRepo(name)
check("getRepo of a new side tag is READY at once", first and first["state"] == koji.REPO_READY and first["tag_name"] == name, first)
check("repo.done of the side tag's first repo", repo_done(name) == [first["id"]], repo_done(name))
groups = session.getTagGroups(name, event=first["create_event"])
build_group = [g for g in groups if g["name"] == "build"]
check("getTagGroups inherits the build group", len(build_group) == 1 and build_group[0]["packagelist"], groups)
check("listTagged of the side tag itself", session.listTagged(name) == [])
inherited = session.listTagged(name, inherit=True, latest=True)
check("listTagged inherit", len(inherited) == 14, len(inherited))

# libfoo 3 in the side tag no longer ships libfoo-devel: foo-app (BuildRequires
# libfoo-devel >= 1.0) cannot build there, but still can on f99.
session.callMethod("sim.importBuild", {"name": "libfoo", "version": "3.0", "release": "1", "tag": name,
                                       "binaries": [{"name": "libfoo", "provides": ["libfoo.so.3()(64bit)"]}]})
latest = session.listTagged(name, inherit=True, latest=True, package="libfoo")
check("listTagged latest: the side tag's build wins", [b["nvr"] for b in latest] == ["libfoo-3.0-1"], latest)
check("base tag keeps its libfoo", session.listTagged("f99-build", inherit=True, latest=True, package="libfoo")[0]["nvr"] != "libfoo-3.0-1")
check("listTagged inherit keeps one build per package", len(session.listTagged(name, inherit=True, latest=True)) == 14)

repo_id = session.callMethod("sim.regenRepo", name)
repo = session.repoInfo(repo_id)
check("sim.regenRepo(sidetag)", repo["state"] == koji.REPO_READY and repo["tag_name"] == name, repo)
check("the older side tag repo expired", session.repoInfo(first["id"])["state"] == koji.REPO_EXPIRED)
check("repo.done with the side tag's name", repo_done(name) == [first["id"], repo_id], repo_done(name))
primary = primary_xml(name, repo_id)
check("side tag primary.xml has the new libfoo", 'href="Packages/libfoo-3.0-1.x86_64.rpm"' in primary, primary[:300])
check("side tag primary.xml lost libfoo-devel", "<name>libfoo-devel</name>" not in primary)
check("side tag primary.xml keeps the inherited packages", all(f"<name>{p}</name>" in primary for p in ("foo-app", "gcc", "bash")))
check("base repo primary.xml unchanged", "<name>libfoo-devel</name>" in primary_xml("f99-build", session.getRepo("f99-build")["id"]))

failed = scratch(name, "foo-app")
check("scratch build in the side tag fails when a BuildRequire is gone", failed["state"] == koji.TASK_STATES["FAILED"], failed)
check("… with mock's dependency status", "status 30" in str(fault(session.getTaskResult, failed["id"])))
arch = [c for c in session.getTaskChildren(failed["id"], request=True) if c["method"] == "buildArch"]
check("… built in the side tag's latest repo", arch and arch[0]["request"][4]["repo_id"] == repo_id, arch)
check("same package builds on the base target", scratch("f99", "foo-app")["state"] == koji.TASK_STATES["CLOSED"])
failed = scratch(None, "foo-app", repo_id=repo_id)
check("scratch build with repo_id of the side tag repo fails", failed["state"] == koji.TASK_STATES["FAILED"], failed)
check("unaffected package builds in the side tag", scratch(name, "make")["state"] == koji.TASK_STATES["CLOSED"])

# untagging the side tag's build brings the base's libfoo back
session.callMethod("sim.untagBuild", name, "libfoo-3.0-1")
task = wait(session.newRepo(name))
renewed = session.getRepo(name)
check("newRepo(sidetag)", task["state"] == koji.TASK_STATES["CLOSED"] and renewed["id"] > repo_id, (task, renewed))
check("untagged build leaves the side tag repo", "<name>libfoo-devel</name>" in primary_xml(name, renewed["id"]))
check("scratch build in the side tag after the untag", scratch(name, "foo-app")["state"] == koji.TASK_STATES["CLOSED"])

e = fault(session.removeSideTag, "f99-build")
check("removeSideTag of a normal tag", e is not None and str(e).endswith("Not a sidetag: f99-build"), e)
check("removeSideTag returns None", session.removeSideTag(name) is None)
check("getTag of a removed side tag", session.getTag(name) is None)
check("getBuildTarget of a removed side tag", session.getBuildTarget(name) is None)
check("getRepo of a removed side tag", session.getRepo(name) is None)
states = {session.repoInfo(r)["state"] for r in (first["id"], repo_id, renewed["id"])}
check("repoInfo of its repos: DELETED", states == {koji.REPO_DELETED}, states)
try:
    urllib.request.urlopen(f"{TOPURL}/repos/{name}/{renewed['id']}/x86_64/repodata/repomd.xml")
    check("repo files removed", False)
except urllib.error.HTTPError as e:
    check("repo files removed", e.code == 404, e)
check("build in a deleted repo faults", fault(scratch, None, "make", repo_id=renewed["id"]) is not None)
check("listSideTags after removal", [t["name"] for t in session.listSideTags()] == [other["name"]])
check("removeSideTag twice", "No such tagInfo" in str(fault(session.removeSideTag, name)))
check("the base tag is untouched", session.getRepo("f99-build")["state"] == koji.REPO_READY)

finish()
