//! Safe libsolv wrapper: rpm-md loading, build-dependency resolution, distances and changes
