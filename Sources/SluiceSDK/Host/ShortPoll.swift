import Foundation

/// Waiting for something another thread will see happen (a child's exit, the end of its
/// stderr) with a deadline: checks at 1 ms, then at intervals doubling up to 10 ms. What is
/// awaited usually comes within a millisecond or two, and a fixed 10 ms step would add up to
/// its whole length to every wait — a host closes its plugins at the end of every command.
enum ShortPoll {
    /// Waits until `condition` holds or `seconds` have passed; returns the last check. A
    /// cancelled task still waits (closing a plugin must not turn into killing it), and does
    /// not spin: its sleeps run in a task of their own, which the cancellation does not reach.
    static func wait(upTo seconds: Double, until condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .nanoseconds(Int64(max(0, seconds) * 1e9))
        var step = Duration.milliseconds(1)
        while !condition() {
            let now = ContinuousClock.now
            guard now < deadline else { return condition() }
            let pause = min(step, deadline - now)
            if Task.isCancelled {
                await Task.detached { try? await Task.sleep(for: pause) }.value
            } else {
                try? await Task.sleep(for: pause)
            }
            step = min(step * 2, .milliseconds(10))
        }
        return true
    }
}
