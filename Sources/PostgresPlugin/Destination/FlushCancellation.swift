import Foundation

/// Lets a cancelled Write stop its flush transactions, which run in tasks of their own (so
/// encoding overlaps them) and so do not see the Write's cancellation: ``cancelAll()``, callable
/// from any thread, cancels each lane's transaction task, and those started later are cancelled
/// as they start.
final class FlushCancellation: @unchecked Sendable {
    // @unchecked: `cancelled` and `running` are guarded by `lock`.
    private let lock = NSLock()
    private var cancelled = false
    /// The latest two transaction tasks of each lane (a flush in flight and one chained behind
    /// it, ``FlushLane/chain(_:buffer:bytes:on:)``; earlier ones have ended).
    private var running: [ObjectIdentifier: [Task<FlushResult, any Error>]] = [:]

    /// Starts `body` as `lane`'s transaction task.
    func start(lane: ObjectIdentifier, _ body: @escaping @Sendable () async throws -> FlushResult) -> Task<FlushResult, any Error> {
        let task = Task(operation: body)
        let cancelled = lock.withLock {
            running[lane] = (running[lane] ?? []).suffix(1) + [task]
            return self.cancelled
        }
        if cancelled { task.cancel() }
        return task
    }

    /// Cancels every transaction task, now and from now on.
    func cancelAll() {
        let tasks = lock.withLock {
            cancelled = true
            return running.values.flatMap { $0 }
        }
        for task in tasks { task.cancel() }
    }
}
