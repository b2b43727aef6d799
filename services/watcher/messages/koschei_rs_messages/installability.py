"""``koschei.package.installability.change``: a tracked package's binaries became
installable or uninstallable in a collection's latest repo, or a scratch build showed
that a rebuild would make them installable again."""

import json
from importlib import resources

from fedora_messaging import message

BODY_SCHEMA = json.loads(
    resources.files(__package__)
    .joinpath("installability-change.schema.json")
    .read_text(encoding="utf-8")
)


class PackageInstallabilityChange(message.Message):
    """A change of the installability of a source package's binaries."""

    topic = "koschei.package.installability.change"
    body_schema = BODY_SCHEMA

    @property
    def app_name(self):
        return "Koschei"

    @property
    def app_icon(self):
        return "https://apps.fedoraproject.org/img/icons/koschei.png"

    @property
    def packages(self):
        return [self.body["name"]]

    @property
    def groups(self):
        return self.body["groups"]

    @property
    def summary(self):
        body = self.body
        where = body["collection"]
        if body["koji_instance"] != "primary":
            where += f" ({body['koji_instance']})"
        if body["fixed_by_rebuild"]:
            return (
                f"{body['name']} is not installable in {where}, but a rebuild would fix it "
                f"(task {body['task_id']})"
            )
        if body["new"] == "uninstallable":
            return f"{body['name']}'s binaries became uninstallable in {where}"
        return f"{body['name']}'s binaries are installable again in {where}"

    def __str__(self):
        lines = [self.summary]
        for binary in self.body["binaries"]:
            state = "installable" if binary["installable"] else "not installable"
            lines.append(f"{binary['name']}-{binary['evr']}.{binary['arch']}: {state}")
            lines.extend(f"  {problem}" for problem in binary["problems"])
        return "\n".join(lines)
