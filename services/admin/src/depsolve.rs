//! `koschei-admin depsolve`: resolves a build group and BuildRequires
//! against a repository and says why it does or does not resolve — what a
//! packager asks when a package is unresolvable.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use koschei_depsolve::{comps, LoadOptions, RepoDir, Repomd, ResolveOptions, Sack};
use serde_json::json;

#[derive(Debug, Args)]
pub struct DepsolveArgs {
    /// rpm-md repository: a directory with repodata/, or its URL.
    #[arg(long)]
    repo: String,
    /// comps file with the build group (default: the repo's own comps).
    #[arg(long, value_name = "FILE")]
    comps: Option<PathBuf>,
    /// Build group in the comps file.
    #[arg(long, value_name = "NAME")]
    group: Option<String>,
    /// A build-group package given directly (repeatable).
    #[arg(long = "group-pkg", value_name = "NAME")]
    group_pkgs: Vec<String>,
    /// Ignore weak dependencies.
    #[arg(long)]
    ignore_weak_deps: bool,
    /// Architecture to resolve for.
    #[arg(long, default_value = "x86_64")]
    arch: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// BuildRequires, e.g. `gcc` `"libfoo-devel >= 2"` `/bin/sh`.
    buildrequires: Vec<String>,
}

/// Downloads repomd.xml and the files it names into `dir`.
async fn download_repo(url: &str, dir: &Path) -> Result<()> {
    let base = url.trim_end_matches('/');
    let client = reqwest::Client::new();
    let fetch = |rel: String| {
        let client = client.clone();
        let url = format!("{base}/{rel}");
        async move {
            let resp = client
                .get(&url)
                .send()
                .await
                .with_context(|| format!("GET {url}"))?;
            if !resp.status().is_success() {
                bail!("GET {url}: HTTP {}", resp.status());
            }
            Ok::<_, anyhow::Error>(resp.bytes().await?)
        }
    };
    let repomd = fetch("repodata/repomd.xml".into()).await?;
    std::fs::create_dir_all(dir.join("repodata"))?;
    std::fs::write(dir.join("repodata/repomd.xml"), &repomd)?;
    for entry in Repomd::parse(&repomd)?.entries {
        if !["primary", "filelists", "group", "group_gz"].contains(&entry.kind.as_str()) {
            continue;
        }
        let target = dir.join(&entry.href);
        if !target.starts_with(dir) || entry.href.contains("..") {
            bail!(
                "repomd.xml names a file outside the repository: {}",
                entry.href
            );
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, fetch(entry.href.clone()).await?)?;
    }
    Ok(())
}

/// Runs the command; returns what to print.
pub async fn run(args: DepsolveArgs) -> Result<String> {
    let tmp = tempfile::tempdir()?;
    let root = if args.repo.starts_with("http://") || args.repo.starts_with("https://") {
        download_repo(&args.repo, tmp.path()).await?;
        tmp.path().to_path_buf()
    } else {
        PathBuf::from(&args.repo)
    };
    tokio::task::spawn_blocking(move || resolve(&args, &root)).await?
}

fn resolve(args: &DepsolveArgs, root: &Path) -> Result<String> {
    let repo = RepoDir::open(root)
        .with_context(|| format!("cannot open repository {}", root.display()))?;
    let mut group = args.group_pkgs.clone();
    if let Some(name) = &args.group {
        let comps_path = match &args.comps {
            Some(p) => p.clone(),
            None => repo
                .comps()
                .context("the repository has no comps file; give --comps")?,
        };
        match comps::read_group(&comps_path, name)? {
            Some(members) => group.extend(members),
            None => bail!("group {name} not found in {}", comps_path.display()),
        }
    }
    let options = LoadOptions {
        arch: args.arch.clone(),
        ignore_weak_deps: args.ignore_weak_deps,
        ..LoadOptions::default()
    };
    let mut sack = Sack::load(&repo, &options)?;
    let resolution = sack.resolve(
        &group,
        &args.buildrequires,
        &ResolveOptions {
            ignore_weak_deps: args.ignore_weak_deps,
            distances: true,
        },
    );
    let installs: Vec<serde_json::Value> = sack
        .dependencies(&resolution)
        .into_iter()
        .map(|d| {
            json!({"name": d.nevra.name, "epoch": d.nevra.epoch, "version": d.nevra.version,
                   "release": d.nevra.release, "arch": d.nevra.arch, "distance": d.distance})
        })
        .collect();
    if args.json {
        return Ok(serde_json::to_string_pretty(&json!({
            "resolved": resolution.resolved,
            "problems": resolution.problems,
            "installs": installs,
        }))?);
    }
    let mut out = String::new();
    if resolution.resolved {
        out.push_str(&format!(
            "Resolved: {} packages to install\n",
            installs.len()
        ));
        for i in &installs {
            let distance = i["distance"]
                .as_u64()
                .map_or("-".to_string(), |d| d.to_string());
            out.push_str(&format!(
                "  {}-{}-{}.{}  distance {distance}\n",
                i["name"].as_str().unwrap_or_default(),
                i["version"].as_str().unwrap_or_default(),
                i["release"].as_str().unwrap_or_default(),
                i["arch"].as_str().unwrap_or_default()
            ));
        }
    } else {
        out.push_str("Not resolvable:\n");
        for p in &resolution.problems {
            out.push_str(&format!("  {p}\n"));
        }
    }
    Ok(out)
}
