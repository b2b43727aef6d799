"""``koschei.package.installability.change``: a tracked package's binaries became
installable or uninstallable in a collection's latest repo, or a scratch build showed
that a rebuild would make them installable again."""

from . import KoscheiMessage, body_schema

BODY_SCHEMA = body_schema("installability-change.schema.json")


class PackageInstallabilityChange(KoscheiMessage):
    """A change of the installability of a source package's binaries."""

    topic = "koschei.package.installability.change"
    body_schema = BODY_SCHEMA

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
