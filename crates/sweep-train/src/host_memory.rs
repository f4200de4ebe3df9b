//! glibc `malloc` tuning for the worker: keep freed tensor memory in the
//! process instead of handing it back to the kernel after every batch.
//!
//! libtorch allocates CPU tensors with the C allocator. Each training step
//! frees a batch's activations and gradients (megabytes) and allocates them
//! again at the next step. With glibc's defaults, the freed top of the heap
//! is trimmed back to the kernel and large blocks are `mmap`ed afresh, so
//! every step page-faults and zeroes its whole working set again: in a
//! profile of `chest_cnn` on one thread a fifth of the time was kernel page
//! faults, and an epoch took 6.1 s where plain PyTorch took 4.5 s.
//! Raising the mmap threshold to 64 MiB and the trim threshold to 128 MiB
//! keeps that memory mapped (and turns off glibc's dynamic threshold): 3.9 s
//! per epoch (2.1 s on two threads, from 2.3), peak RSS 920-990 MiB against
//! 937 before. An mmap threshold of 256 MiB was no faster and left
//! `resnet18` at 2.4-3.2 GiB instead of 1.6 (plain PyTorch: 1.55-1.7).
//! Blocks over 64 MiB (large models at large sizes) are still `mmap`ed, as
//! in any PyTorch process.
//!
//! The trim threshold is 1 GiB: a `resnet18` step at 28 px frees several
//! hundred MiB of activations at once, more than 128 MiB, so with 128 the
//! heap top was handed back and faulted in again every step. Three epochs
//! on 1,024 RetinaMNIST images (two threads): 6.8-10.2 s of kernel time
//! and 2.2-3.0 M page faults with 128 MiB, 2.7-3.8 s and 0.7-1.0 M with
//! 1 GiB, peak RSS 2.0-2.3 GiB and 2.2-2.4 GiB. Memory kept this way was in
//! use at the step's peak anyway; it is not more than the run needs.
//!
//! Jemalloc or tcmalloc via `LD_PRELOAD`, the usual PyTorch advice, would do
//! the same, but needs a library on the machine; these two settings need
//! nothing. Other C libraries are left alone.

/// Blocks at least this large are `mmap`ed (and unmapped when freed).
pub const MMAP_THRESHOLD_BYTES: i32 = 64 << 20;
/// Free memory at the top of the heap kept before trimming.
pub const TRIM_THRESHOLD_BYTES: i32 = 1 << 30;

/// Applies the settings; call before the first tensor is allocated. Returns
/// whether the C library took them (always false off glibc).
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes allocator parameters; it is called
        // before the worker starts any thread that allocates.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_accepts_the_settings() {
        assert!(super::keep_freed_memory());
    }
}
