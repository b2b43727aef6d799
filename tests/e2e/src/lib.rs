//! End-to-end tests of the whole pipeline live in `tests/`.
