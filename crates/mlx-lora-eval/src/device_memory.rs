//! The memory of the machine's NVIDIA devices as the driver reports it
//! (NVML, loaded at run time), for a judge that measures a GPU run from
//! outside: whatever the run's process says of its own memory, and MLX's
//! peak counter, which it can reset, are the run's word.
//!
//! The judge reads the devices' used memory before it starts a run's
//! process, samples it every millisecond while the run trains, and takes the
//! difference: the run's whole device footprint at its sampled peak, its
//! weights included, as the CPU measure (peak resident size) includes them.
//! It counts every process on the devices, so nothing else may use them
//! while a run is timed; the judge itself waits idle then. A peak shorter
//! than the sampling interval can be missed.

use std::ffi::{c_char, c_int, c_uint, c_void};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

unsafe extern "C" {
    fn dlopen(filename: *const c_char, flag: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
}

const RTLD_NOW: c_int = 2;
const NVML_SUCCESS: c_int = 0;
/// How often a watch samples.
const SAMPLE_EVERY: Duration = Duration::from_millis(1);

/// `nvmlMemory_t`.
#[repr(C)]
#[derive(Default)]
struct NvmlMemory {
    total: u64,
    free: u64,
    used: u64,
}

type Handle = *mut c_void;
type GetMemoryInfo = unsafe extern "C" fn(Handle, *mut NvmlMemory) -> c_int;

/// The machine's NVIDIA devices, through NVML.
#[derive(Clone)]
pub struct DeviceMemory(Arc<Nvml>);

struct Nvml {
    devices: Vec<Handle>,
    memory_info: GetMemoryInfo,
}

// SAFETY: NVML's calls are thread-safe, and its device handles are plain
// identifiers valid for the life of the process.
unsafe impl Send for Nvml {}
unsafe impl Sync for Nvml {}

impl DeviceMemory {
    /// Loads NVML and finds the devices; the error says what is missing.
    pub fn open() -> Result<Self, String> {
        // SAFETY: NVML's documented entry points, called with their C
        // signatures; the library stays loaded for the life of the process.
        unsafe {
            let lib = dlopen(c"libnvidia-ml.so.1".as_ptr(), RTLD_NOW);
            if lib.is_null() {
                return Err("NVML (libnvidia-ml.so.1, from the NVIDIA driver) cannot be loaded".into());
            }
            let symbol = |name: &std::ffi::CStr| {
                let f = dlsym(lib, name.as_ptr());
                if f.is_null() { Err(format!("NVML has no {}", name.to_string_lossy())) } else { Ok(f) }
            };
            let init: unsafe extern "C" fn() -> c_int = std::mem::transmute(symbol(c"nvmlInit_v2")?);
            let count: unsafe extern "C" fn(*mut c_uint) -> c_int =
                std::mem::transmute(symbol(c"nvmlDeviceGetCount_v2")?);
            let by_index: unsafe extern "C" fn(c_uint, *mut Handle) -> c_int =
                std::mem::transmute(symbol(c"nvmlDeviceGetHandleByIndex_v2")?);
            let memory_info: GetMemoryInfo = std::mem::transmute(symbol(c"nvmlDeviceGetMemoryInfo")?);
            if init() != NVML_SUCCESS {
                return Err("NVML did not initialize (no driver running?)".into());
            }
            let mut n: c_uint = 0;
            if count(&mut n) != NVML_SUCCESS || n == 0 {
                return Err("NVML finds no device".into());
            }
            let mut devices = Vec::new();
            for i in 0..n {
                let mut handle: Handle = std::ptr::null_mut();
                if by_index(i, &mut handle) != NVML_SUCCESS {
                    return Err(format!("NVML cannot open device {i}"));
                }
                devices.push(handle);
            }
            Ok(Self(Arc::new(Nvml { devices, memory_info })))
        }
    }

    /// Bytes in use on all devices now, by every process; `Err` when NVML
    /// cannot say for one of them (a guess would skew the difference).
    pub fn used_bytes(&self) -> Result<u64, String> {
        self.0
            .devices
            .iter()
            .enumerate()
            .map(|(i, &device)| {
                let mut memory = NvmlMemory::default();
                // SAFETY: a handle NVML gave, and a struct of its layout.
                let status = unsafe { (self.0.memory_info)(device, &mut memory) };
                if status == NVML_SUCCESS {
                    Ok(memory.used)
                } else {
                    Err(format!("NVML cannot read device {i}'s memory (status {status})"))
                }
            })
            .sum()
    }

    /// Starts sampling [`Self::used_bytes`] in a thread until
    /// [`DevicePeak::finish`].
    pub fn watch(&self) -> DevicePeak {
        let stop = Arc::new(AtomicBool::new(false));
        let devices = self.clone();
        let stopping = stop.clone();
        let sampler = std::thread::spawn(move || {
            let mut peak = 0;
            loop {
                // A sample NVML cannot give is skipped, not taken as 0.
                peak = peak.max(devices.used_bytes().unwrap_or(0));
                if stopping.load(Ordering::Relaxed) {
                    return peak;
                }
                std::thread::sleep(SAMPLE_EVERY);
            }
        });
        DevicePeak { stop, sampler: Some(sampler), devices: self.clone() }
    }
}

/// A running sample of the devices' used memory; dropping it stops it.
pub struct DevicePeak {
    stop: Arc<AtomicBool>,
    sampler: Option<JoinHandle<u64>>,
    devices: DeviceMemory,
}

impl DevicePeak {
    /// Stops sampling; the highest use seen, a last sample included.
    pub fn finish(mut self) -> u64 {
        let last = self.devices.used_bytes().unwrap_or(0);
        self.stop.store(true, Ordering::Relaxed);
        let sampled = self.sampler.take().map_or(0, |s| s.join().unwrap_or(0));
        sampled.max(last)
    }
}

impl Drop for DevicePeak {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
