//! `photolink backend`: which compute backend runs on this machine, and whether it computes.

use anyhow::{Result, bail};
use photolink_core::backend::Compute;

/// Brings up the backend (the CPU when `cpu`) and checks it.
pub fn run(cpu: bool) -> Result<()> {
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
