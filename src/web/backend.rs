//! Which backend the page computes on. WebGPU is brought up and self-checked when the browser
//! offers it; then, unless the caller asked for one, a warm-up photo is linked on WebGPU and on the
//! CPU and the faster is kept: WebGPU exists on machines where the CPU path is several times faster
//! (a software adapter such as SwiftShader). The warm-up also compiles the GPU's shaders before the
//! user's first photo.

use photolink_core::backend::{BackendKind, Compute, GpuUnavailable};
use photolink_core::linker::{LinkError, LinkOptions, Linker};
use photolink_core::photo::{BoundingBox, Photo};
use serde::{Deserialize, Serialize};

use super::adapter;

/// The backend a caller asks `Linker.load` for (`backend` option).
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendRequest {
    /// The faster of those that come up, by measurement.
    #[default]
    Auto,
    /// WebGPU when it comes up (else the CPU, with the reason).
    Gpu,
    /// The CPU, even where WebGPU exists.
    Cpu,
}

/// How the backend was chosen, and the warm-up times that chose it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendTiming {
    /// `"measured"` (the faster of two), `"asked"` (the caller's choice) or `"only"` (one came up).
    pub chosen_by: ChosenBy,
    /// Warm time of the warm-up photo on WebGPU, in milliseconds, when it was linked there.
    pub gpu_ms: Option<f64>,
    /// The same on the CPU.
    pub cpu_ms: Option<f64>,
}

/// See [`BackendTiming::chosen_by`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChosenBy {
    /// Both backends were timed; the faster computes.
    Measured,
    /// The caller asked for this backend.
    Asked,
    /// Only this backend came up.
    Only,
}

/// The GPU if it comes up and computes correctly, else the CPU with the reason recorded.
pub async fn working_backend(prefer_cpu: bool) -> Compute {
    if prefer_cpu {
        return Compute::cpu();
    }
    let mut compute = Compute::gpu_or_cpu_async().await;
    if compute.info.kind == BackendKind::Gpu {
        // wgpu fills only the description from the browser's GPUAdapterInfo; vendor and
        // architecture are what tell SwiftShader from a real GPU.
        compute.info.adapter = adapter::label(&compute.info.adapter).await;
    }
    match compute.self_check().await {
        Ok(()) => compute,
        Err(failure) => Compute::cpu_because(&GpuUnavailable(failure)),
    }
}

/// Keeps `linker` on its backend or moves it to the CPU, as `request` and the warm-up times say.
pub async fn choose(
    linker: Linker,
    request: BackendRequest,
) -> Result<(Linker, BackendTiming), LinkError> {
    let on_gpu = linker.compute().info.kind == BackendKind::Gpu;
    if !on_gpu {
        let cpu_ms = Some(warm_up(&linker).await?);
        let chosen_by = match request {
            BackendRequest::Cpu => ChosenBy::Asked,
            _ => ChosenBy::Only,
        };
        let timing = BackendTiming {
            chosen_by,
            gpu_ms: None,
            cpu_ms,
        };
        return Ok((linker, timing));
    }
    let gpu_ms = match warm_up(&linker).await {
        Ok(ms) => ms,
        Err(failure) => {
            // As when linking: a GPU that fails is left for the CPU, with the reason shown.
            let reason = GpuUnavailable(format!("WebGPU failed its warm-up: {failure}"));
            let linker = linker.rebuild(Compute::cpu_because(&reason))?;
            let cpu_ms = Some(warm_up(&linker).await?);
            let timing = BackendTiming {
                chosen_by: ChosenBy::Only,
                gpu_ms: None,
                cpu_ms,
            };
            return Ok((linker, timing));
        }
    };
    if request == BackendRequest::Gpu {
        let timing = BackendTiming {
            chosen_by: ChosenBy::Asked,
            gpu_ms: Some(gpu_ms),
            cpu_ms: None,
        };
        return Ok((linker, timing));
    }
    let on_cpu = linker.networks_on(Compute::cpu())?;
    let cpu_ms = warm_up(&on_cpu).await?;
    let timing = BackendTiming {
        chosen_by: ChosenBy::Measured,
        gpu_ms: Some(gpu_ms),
        cpu_ms: Some(cpu_ms),
    };
    let chosen = if cpu_ms < gpu_ms {
        on_cpu.with_shards_of(linker)
    } else {
        linker
    };
    Ok((chosen, timing))
}

/// Milliseconds a linker takes, warm, for a one-subject photo: the face detector over a whole
/// photo (person bundles), one embedding and the search. Run once untimed first, which is where
/// a GPU compiles its shaders.
async fn warm_up(linker: &Linker) -> Result<f64, LinkError> {
    // A smooth synthetic picture: what it shows does not matter, only the work it costs.
    let photo = Photo::from_fn(240, 240, |x, y| {
        [(x % 256) as u8, (y % 256) as u8, ((x + y) / 2 % 256) as u8]
    });
    let region = BoundingBox::from_corners([40.0, 40.0, 200.0, 200.0]).expect("a valid box");
    let whole = LinkOptions { k: 1, bbox: None };
    let one = LinkOptions {
        k: 1,
        bbox: Some(region),
    };
    linker.link(&photo, whole).await?;
    linker.link(&photo, one).await?;
    let started = js_sys::Date::now();
    linker.link(&photo, whole).await?;
    linker.link(&photo, one).await?;
    Ok(js_sys::Date::now() - started)
}
