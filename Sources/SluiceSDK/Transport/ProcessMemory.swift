import SluiceSystemC

/// Keeps memory that batches free inside the process for the next batches.
///
/// Batches move as buffers of a few megabytes, allocated and freed once per batch. With glibc's
/// defaults the allocator hands such memory back to the kernel (freed blocks at the top of a
/// heap are trimmed; blocks over its dynamic mmap threshold are unmapped), so every batch faults
/// its pages in again: hundreds of thousands of minor page faults per million rows, about half of
/// the processes' CPU time in the kernel. Raising both thresholds keeps freed memory for reuse.
/// One arena for every thread keeps what one thread frees usable by the others (batches are
/// built, encoded and freed on different threads), so the retained memory stays one heap's.
public enum ProcessMemory {
    /// Blocks up to this size come from the heap and are reused (glibc's ceiling for the setting).
    static let mmapThreshold: Int32 = 32 << 20
    /// Free memory at the top of the heap kept before trimming.
    static let trimThreshold: Int32 = 32 << 20
    /// Malloc arenas: one, shared by every thread.
    static let arenas: Int32 = 1

    private static let applied: Void = { _ = sluice_retain_freed_memory(mmapThreshold, trimThreshold, arenas) }()

    /// Applies the settings (once per process; later calls do nothing). Plugins served by
    /// ``PluginMain`` and hosts starting a plugin process call it.
    public static func retainFreedMemory() { applied }
}
