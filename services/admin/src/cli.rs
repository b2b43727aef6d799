//! Command-line definition of `koschei-admin`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Administer Koschei: database, notices, packages, groups and collections.
#[derive(Debug, Parser)]
#[command(name = "koschei-admin", version)]
pub struct Cli {
    /// Extra configuration file, merged after KOSCHEI_CONFIG (repeatable).
    #[arg(long = "config", global = true, value_name = "FILE")]
    pub config: Vec<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or upgrade the database schema (harmless when it is current).
    CreateDb,
    /// Delete old builds and resolution changes.
    Cleanup {
        /// Age in months (at least 2).
        #[arg(long, default_value_t = 6)]
        older_than: i32,
    },
    /// Set the global notice shown on every web page.
    SetNotice { content: String },
    /// Remove the global notice.
    ClearNotice,
    /// Track packages in a collection.
    AddPkg {
        #[arg(required_unless_present = "all")]
        names: Vec<String>,
        /// Track every package of the collection.
        #[arg(long, conflicts_with = "names")]
        all: bool,
        #[arg(short, long)]
        collection: String,
    },
    /// Create a group, or set the packages and maintainers of an existing one.
    AddGroup {
        /// Group name as [namespace/]name.
        group: String,
        /// Packages (replace the current content when given).
        pkgs: Vec<String>,
        /// Maintainers (replace the current ones when given).
        #[arg(short, long = "maintainer", num_args = 1..)]
        maintainers: Vec<String>,
    },
    /// Set the manual (or static) priority of packages.
    SetPriority {
        /// Package names followed by the priority value.
        #[arg(required = true, num_args = 2.., allow_negative_numbers = true, value_name = "NAMES... VALUE")]
        args: Vec<String>,
        /// Set the static priority (never reset) instead of the manual one.
        #[arg(long = "static")]
        static_priority: bool,
        #[arg(long, short)]
        collection: String,
    },
    /// Set the arch override of a package (or of every package of a group).
    SetArchOverride {
        /// Package name, or group name with --group.
        name: String,
        /// Space-separated arches, "^arch" to exclude; empty to clear.
        arch_override: String,
        /// Limit to one collection (default: every collection).
        #[arg(long, short)]
        collection: Option<String>,
        /// NAME is a group: set the override on all its packages.
        #[arg(long)]
        group: bool,
    },
    /// Create a package group.
    CreateGroup {
        /// Group name as [namespace/]name.
        name: String,
        #[command(flatten)]
        content: GroupContent,
        /// Maintainers.
        #[arg(short, long = "maintainer", num_args = 1..)]
        maintainers: Vec<String>,
    },
    /// Add every known package whose name matches REGEX (unanchored, as egrep)
    /// to GROUP (the original's bin/koschei-refresh-group).
    RefreshGroup { group: String, regex: String },
    /// Set GROUP to the packages USER is a Bugzilla contact of in dist-git
    /// (`pagure.bz_url`; the original's bin/koschei-refresh-user-group).
    RefreshUserGroup {
        group: String,
        user: String,
        /// Add to the current content instead of replacing it.
        #[arg(long)]
        append: bool,
    },
    /// Set GROUP to the packages of dist-git group DISTGIT_GROUP ("@DISTGIT_GROUP"
    /// in `pagure.bz_url`; the original's bin/koschei-refresh-distgit-group).
    RefreshDistgitGroup {
        group: String,
        distgit_group: String,
        /// Add to the current content instead of replacing it.
        #[arg(long)]
        append: bool,
    },
    /// Track every package of global GROUP in every collection (the original's
    /// bin/koschei-track-group).
    TrackGroup { group: String },
    /// Rename a group or change its content.
    EditGroup {
        current_name: String,
        #[arg(long)]
        new_name: Option<String>,
        #[arg(long, conflicts_with = "make_global")]
        new_namespace: Option<String>,
        #[arg(long)]
        make_global: bool,
        #[command(flatten)]
        content: GroupContent,
    },
    /// Create a collection group (a UI grouping of collections).
    CreateCollectionGroup {
        name: String,
        #[arg(short, long)]
        display_name: String,
        #[arg(short, long, num_args = 1..)]
        contents: Vec<String>,
    },
    /// Change a collection group.
    EditCollectionGroup {
        name: String,
        #[arg(short, long)]
        display_name: Option<String>,
        #[arg(short, long, num_args = 1..)]
        contents: Option<Vec<String>>,
    },
    /// Delete a collection group.
    DeleteCollectionGroup { name: String },
    /// Create a collection bound to a Koji target.
    CreateCollection {
        name: String,
        #[command(flatten)]
        settings: CollectionSettings,
    },
    /// Change a collection (only the options given).
    EditCollection {
        name: String,
        #[arg(long)]
        new_name: Option<String>,
        #[command(flatten)]
        settings: CollectionSettings,
        /// Resume scheduling after a permanent Koji fault suspended it.
        #[arg(long)]
        resume: bool,
    },
    /// Delete a collection (with --force even when it has packages).
    DeleteCollection {
        name: String,
        #[arg(short, long)]
        force: bool,
    },
    /// Branch a release (koschei/admin.py): a new collection takes over
    /// MASTER_COLLECTION's name, target and settings with the given display
    /// name and Bugzilla version and a copy of its packages and recent builds;
    /// MASTER_COLLECTION itself, with its history, is renamed to NEW_NAME and
    /// moved to the new target (e.g. `branch-collection f45 f46 -d "Fedora 45"
    /// -t f46 --bugzilla-version 45` when rawhide "f45" branches).
    BranchCollection {
        /// The collection being branched (e.g. rawhide).
        master_collection: String,
        /// New name of the master collection once the branched copy exists.
        new_name: String,
        /// Display name of the branched (new) collection.
        #[arg(short, long)]
        display_name: String,
        /// New Koji target of the master collection.
        #[arg(short, long)]
        target: String,
        /// New dest tag of the master collection (default: its build tag).
        #[arg(long)]
        dest_tag: Option<String>,
        /// Bugzilla version of the branched (new) collection.
        #[arg(long)]
        bugzilla_version: Option<String>,
    },
    /// Fork a collection (e.g. for a side tag) with its last builds.
    ForkCollection {
        master_collection: String,
        new_name: String,
        #[arg(short, long)]
        display_name: String,
        #[arg(short, long)]
        target: String,
        #[arg(long)]
        dest_tag: Option<String>,
    },
    /// Submit scratch builds now, whatever the priorities and limits, in
    /// every collection whose base buildroot is resolved (or only in one).
    SubmitBuild {
        #[arg(required = true)]
        names: Vec<String>,
        /// Only this collection.
        #[arg(short, long)]
        collection: Option<String>,
    },
    /// Force re-resolution of packages (or a whole collection with --all).
    Resolve {
        names: Vec<String>,
        #[arg(short, long)]
        collection: String,
        /// Every package of the collection.
        #[arg(long, conflicts_with = "names")]
        all: bool,
    },
    /// Resolve BuildRequires against a repo and explain the result.
    Depsolve(crate::depsolve::DepsolveArgs),
    /// Run psql on the configured database.
    Psql {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Check the database's consistency (last-build pointers, running builds,
    /// recorded Koji tasks, dependency priorities, state-change message chains);
    /// fails listing every violation.
    Check,
    /// Copy the database of an original Koschei 2.4 (alembic revision
    /// c3e9459e893f) into this one (its schema created or upgraded first, as
    /// create-db), in one transaction, and print the rows copied per table.
    /// One-way: this database's build states 4 (canceled), 6 (timed out) and
    /// 7 (infrastructure failure) do not exist in the original, which cannot
    /// read it back.
    MigrateFromKoschei(MigrateArgs),
    /// Explain a package: state, priority components, skip reasons, builds.
    Package {
        name: String,
        #[arg(long, short)]
        collection: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Number of builds to show.
        #[arg(long, default_value_t = 10)]
        builds: i64,
    },
    /// Installability of a source package's binaries (installable?, problems, install
    /// size, history); without PACKAGE, the collection's uninstallable binaries.
    Installability {
        package: Option<String>,
        #[arg(long, short)]
        collection: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Impact checks: what a side tag or an extra repository would change for a
    /// collection's packages.
    #[command(subcommand)]
    ImpactCheck(ImpactCheckCommand),
}

/// `koschei-admin impact-check …`.
#[derive(Debug, Subcommand)]
pub enum ImpactCheckCommand {
    /// Queue a check of a Koji side tag or an rpm-md repository against a collection;
    /// prints its id.
    Create {
        #[arg(long, short)]
        collection: String,
        /// The side tag (its build repo is compared with the collection's).
        #[arg(long, required_unless_present = "repo", conflicts_with = "repo")]
        side_tag: Option<String>,
        /// An rpm-md repository (e.g. a Copr project's) layered over the collection's
        /// repo; under one of `[impact] repo_url_prefixes`. Resolution only.
        #[arg(long, value_name = "URL")]
        repo: Option<String>,
        /// Build the packages with a changed dependency at most this far from their
        /// BuildRequires (1 = direct).
        #[arg(long, default_value_t = 1)]
        depth: i32,
        /// Build at most this many packages.
        #[arg(long, default_value_t = 20)]
        max_builds: i32,
        /// Only resolve: build nothing.
        #[arg(long)]
        no_builds: bool,
    },
    /// A check: state, affected packages with verdicts, problems and dependency changes,
    /// history.
    Show {
        id: i32,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The newest checks.
    List {
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `migrate-from-koschei`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// PostgreSQL URL of the original Koschei's database (read only).
    #[arg(long, value_name = "URL")]
    pub source: String,
    /// Delete every row of the destination database first (otherwise a
    /// destination holding data is refused).
    #[arg(long)]
    pub replace: bool,
}

/// Collection settings (all optional when editing).
#[derive(Debug, Args)]
pub struct CollectionSettings {
    #[arg(short, long)]
    pub display_name: Option<String>,
    /// Koji build target (its build tag is looked up in Koji).
    #[arg(short, long)]
    pub target: Option<String>,
    /// Tag of the package list and real builds (default: the build tag).
    #[arg(long)]
    pub dest_tag: Option<String>,
    /// Which Koji hub holds the data: primary or secondary.
    #[arg(short, long, value_parser = ["primary", "secondary"])]
    pub mode: Option<String>,
    #[arg(short, long)]
    pub priority_coefficient: Option<f64>,
    #[arg(short, long)]
    pub order: Option<i32>,
    #[arg(long)]
    pub build_group: Option<String>,
    /// Register real builds of untracked packages too.
    #[arg(long)]
    pub poll_untracked: Option<bool>,
    #[arg(long)]
    pub bugzilla_product: Option<String>,
    #[arg(long)]
    pub bugzilla_version: Option<String>,
}

/// Group content read from a file.
#[derive(Debug, Args)]
pub struct GroupContent {
    /// Whitespace-separated package names from FILE ("-" for stdin).
    #[arg(long, value_name = "FILE")]
    pub content_from_file: Option<PathBuf>,
    /// Add to the current content instead of replacing it.
    #[arg(long, requires = "content_from_file")]
    pub append: bool,
}
