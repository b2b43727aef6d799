"""fedora-messaging schemas of the messages Koschei (Rust) publishes beyond those of
koschei-messages. The JSON schema of each body is a file of this package, the single
definition the Rust publisher is tested against."""

import json
from importlib import resources

from fedora_messaging import message


def body_schema(file_name):
    """The JSON schema of a message body, a file of this package."""
    return json.loads(resources.files(__package__).joinpath(file_name).read_text(encoding="utf-8"))


class KoscheiMessage(message.Message):
    """What every message of Koschei says about its sender."""

    @property
    def app_name(self):
        return "Koschei"

    @property
    def app_icon(self):
        return "https://apps.fedoraproject.org/img/icons/koschei.png"
