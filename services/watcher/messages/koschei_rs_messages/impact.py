"""``koschei.impact-check.state.change``: an impact check of a Koji side tag or of an extra
repository against a collection entered a state; when complete, which packages the change
would break."""

from . import KoscheiMessage, body_schema

BODY_SCHEMA = body_schema("impact-check-state-change.schema.json")


class ImpactCheckStateChange(KoscheiMessage):
    """A state change of an impact check."""

    topic = "koschei.impact-check.state.change"
    body_schema = BODY_SCHEMA

    @property
    def packages(self):
        body = self.body
        return sorted(set(body["unresolvable_with_change"]) | set(body["regressions"]))

    @property
    def summary(self):
        body = self.body
        change = (
            f"side tag {body['side_tag']}"
            if body["side_tag"] is not None
            else f"repository {body['repo_url']}"
        )
        what = f"impact check {body['id']} of {change} on {body['collection']}"
        if body["new"] == "complete":
            broken = len(body["unresolvable_with_change"]) + len(body["regressions"])
            if broken:
                return (
                    f"{what}: {len(body['regressions'])} regressions, "
                    f"{len(body['unresolvable_with_change'])} packages unresolvable"
                )
            return f"{what}: nothing breaks ({body['affected']} packages affected)"
        if body["new"] == "error":
            return f"{what} failed: {body['note']}"
        return f"{what} is {body['new']}"

    def __str__(self):
        lines = [self.summary]
        if self.body["note"]:
            lines.append(self.body["note"])
        lines.extend(f"regression: {name}" for name in self.body["regressions"])
        lines.extend(
            f"unresolvable with the change: {name}"
            for name in self.body["unresolvable_with_change"]
        )
        return "\n".join(lines)
