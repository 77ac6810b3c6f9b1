//! Measures this machine for the heartbeat.

use actors::heartbeat::ResourceProbe;

/// Reads CPUs from the scheduler's view and memory from the kernel.
pub struct SystemProbe;

impl ResourceProbe for SystemProbe {
    fn measure(&self) -> (u32, u64) {
        let cpus = std::thread::available_parallelism()
            .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
            .unwrap_or(1);
        let memory = nix::sys::sysinfo::sysinfo()
            .map(|info| info.ram_total())
            .unwrap_or(0);
        (cpus, memory)
    }
}
