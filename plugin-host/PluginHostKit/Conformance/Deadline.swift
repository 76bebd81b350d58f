import Foundation

/// Runs work with a time limit, without waiting for work that overruns it: a plugin that
/// never answers must fail a check, not hang the command.
enum Deadline {
    /// The time limit passed before the work finished.
    struct Expired: Error, Sendable {}

    /// `body`'s result, or ``Expired`` once `seconds` have passed. Then `body`'s task is
    /// cancelled and left to end on its own (the caller kills the process it waits on).
    static func run<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let race = Race<T>()
        return try await withCheckedThrowingContinuation { continuation in
            race.start(continuation)
            race.add(Task {
                do {
                    race.finish(.success(try await body()))
                } catch {
                    race.finish(.failure(error))
                }
            })
            race.add(Task {
                guard (try? await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))) != nil else { return }
                race.finish(.failure(Expired()))
            })
        }
    }
}

/// The work and the timer of one ``Deadline/run(seconds:_:)``: the first to finish resumes the
/// waiter and cancels the other.
private final class Race<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?
    private var tasks: [Task<Void, Never>] = []
    private var finished = false

    func start(_ continuation: CheckedContinuation<T, any Error>) {
        lock.withLock { self.continuation = continuation }
    }

    /// Keeps `task` to cancel it when the race ends (at once if it has ended).
    func add(_ task: Task<Void, Never>) {
        let ended = lock.withLock {
            if !finished { tasks.append(task) }
            return finished
        }
        if ended { task.cancel() }
    }

    /// Resumes the waiter with `result` unless the race has already ended.
    func finish(_ result: Result<T, any Error>) {
        let (waiter, losers): (CheckedContinuation<T, any Error>?, [Task<Void, Never>]) = lock.withLock {
            guard !finished else { return (nil, []) }
            finished = true
            defer { continuation = nil; tasks = [] }
            return (continuation, tasks)
        }
        guard let waiter else { return }
        for task in losers { task.cancel() }
        waiter.resume(with: result)
    }
}
