//! Shared library of the Koschei services: configuration, models, EVR, database access and backend operations
