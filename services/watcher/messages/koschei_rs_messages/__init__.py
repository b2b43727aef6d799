"""fedora-messaging schemas of the messages Koschei (Rust) publishes beyond those of
koschei-messages. The JSON schema of each body is a file of this package, the single
definition the Rust publisher is tested against."""
