import Foundation
import SluiceSDK

/// Reads a Write call's input one event ahead, so the session can stop waiting for the next
/// event when buffered rows reach `batch_timeout` and flush them; the read in flight is kept
/// and returned by the next call.
final class EventPump: @unchecked Sendable {
    /// What waiting for the next event gave.
    enum Next {
        /// The next event; `nil` after WriteEnd.
        case event(WriteEvent?)
        case timedOut
    }

    private let input: WriteInput
    private let lock = NSLock()
    private var pending: Task<WriteEvent?, any Error>?
    private var cancelled = false

    init(input: WriteInput) { self.input = input }

    /// The next event, or `.timedOut` once `deadline` passes first.
    func next(before deadline: ContinuousClock.Instant?) async throws -> Next {
        try Task.checkCancellation()
        if deadline == nil, lock.withLock({ pending == nil }) { return .event(try await input.next()) }
        let task = lock.withLock {
            if let pending { return pending }
            let input = self.input
            let task = Task { try await input.next() }
            if cancelled { task.cancel() }
            pending = task
            return task
        }
        if let deadline, !(await Self.finishes(task, before: deadline)) { return .timedOut }
        lock.withLock { pending = nil }
        return .event(try await task.value)
    }

    /// Cancels the read in flight and any later one (the call was cancelled).
    func cancel() {
        lock.withLock {
            cancelled = true
            return pending
        }?.cancel()
    }

    private static func finishes(_ task: Task<WriteEvent?, any Error>, before deadline: ContinuousClock.Instant) async -> Bool {
        let gate = Gate()
        return await withCheckedContinuation { continuation in
            gate.arm(continuation)
            let timer = Task {
                try? await Task.sleep(until: deadline, clock: .continuous)
                gate.open(false)
            }
            Task {
                _ = await task.result
                gate.open(true)
                timer.cancel()
            }
        }
    }

    /// Resumes a continuation once, with whichever answer comes first.
    private final class Gate: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<Bool, Never>?

        func arm(_ continuation: CheckedContinuation<Bool, Never>) { lock.withLock { self.continuation = continuation } }

        func open(_ value: Bool) {
            let waiting = lock.withLock {
                let waiting = continuation
                continuation = nil
                return waiting
            }
            waiting?.resume(returning: value)
        }
    }
}
