//! Assembling a deployable static site: the page (`www/`), the wasm package (`pkg/`) and any number
//! of bundles under `bundles/<name>/`, with `bundles.json` listing them for the page's selector.
//! The result is plain files with relative URLs: copy it to any static host, at any sub-path.
//! Every file that compresses gets `.gz` and `.br` siblings ([`super::precompress`]).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use photolink_core::linker::LinkerConfig;
use photolink_kb::{BundleReader, Role};

use super::precompress::{self, Sizes};

/// One entry of `bundles.json`.
#[derive(Debug, Serialize)]
struct Listed {
    title: String,
    path: String,
    entities: u64,
}

/// `photolink site`: assembles the site and says where it is.
pub fn run(www: &Path, pkg: &Path, bundles: &[PathBuf], out: &Path) -> Result<()> {
    let sizes = assemble(www, pkg, bundles, out)?;
    let mb = |n: u64| n as f64 / 1e6;
    println!(
        "site: {} ({} bundle(s)); copy it to any static host, with its .gz and .br files: \
         {:.2} MB raw, {:.2} MB to a browser that takes gzip, {:.2} MB with brotli",
        out.display(),
        bundles.len(),
        mb(sizes.raw),
        mb(sizes.gzip),
        mb(sizes.brotli)
    );
    Ok(())
}

/// Writes the site into `out` (replacing it): `www` files, `pkg` as `pkg/`, and each bundle folder,
/// verified file by file, as `bundles/<folder name>/`; then the compressed siblings. Returns the
/// bytes of all its files, raw and as each encoding sends them.
pub fn assemble(www: &Path, pkg: &Path, bundles: &[PathBuf], out: &Path) -> Result<Sizes> {
    for needed in ["photolink.js", "photolink_bg.wasm"] {
        if !pkg.join(needed).is_file() {
            bail!(
                "{} has no {needed}: build it first (tools/build-web.sh)",
                pkg.display()
            );
        }
    }
    let staging = out.with_extension("tmp");
    let _ = fs::remove_dir_all(&staging);
    copy_dir(www, &staging)?;
    copy_dir(pkg, &staging.join("pkg"))?;
    let mut listed = Vec::new();
    for dir in bundles {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{} has no usable folder name", dir.display()))?;
        let reader =
            BundleReader::open(dir).with_context(|| format!("bundle {}", dir.display()))?;
        let manifest = reader.manifest();
        let target = staging.join("bundles").join(name);
        for entry in &manifest.files {
            // Verifying here means a damaged bundle never reaches a host.
            let bytes = reader
                .read_verified(entry)
                .with_context(|| format!("bundle {}", dir.display()))?;
            let path = target.join(&entry.path);
            fs::create_dir_all(path.parent().expect("a file path has a parent"))?;
            fs::write(&path, bytes)?;
        }
        fs::copy(dir.join("manifest.json"), target.join("manifest.json"))?;
        let config_entry = manifest.file(Role::LinkerConfig).with_context(|| {
            format!(
                "{} is not a photolink linker bundle (no linker.json)",
                dir.display()
            )
        })?;
        let config = LinkerConfig::parse(&reader.read_verified(config_entry)?)?;
        listed.push(Listed {
            title: config.title,
            path: format!("bundles/{name}/"),
            entities: manifest.count,
        });
    }
    fs::write(
        staging.join("bundles.json"),
        serde_json::to_vec_pretty(&listed)?,
    )?;
    let sizes = precompress::precompress_dir(&staging)?;
    let _ = fs::remove_dir_all(out);
    fs::rename(&staging, out).with_context(|| format!("moving the site to {}", out.display()))?;
    Ok(sizes)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from).with_context(|| format!("{}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
