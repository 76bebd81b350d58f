import Foundation
@testable import SluiceSDK
import Testing

@Suite struct ShortPollTests {
    /// Sets `flag` a little later, from another task.
    private static func setSoon(_ flag: LockedBox<Bool>) {
        Task {
            try await Task.sleep(for: .milliseconds(30))
            flag.value = true
        }
    }

    @Test("a wait ends once its condition holds, true")
    func endsWhenTheConditionHolds() async {
        let flag = LockedBox(false)
        Self.setSoon(flag)
        // The deadline only bounds a hang.
        #expect(await ShortPoll.wait(upTo: 120) { flag.value })
    }

    @Test("a wait whose condition never holds gives up at its deadline, false")
    func givesUpAtTheDeadline() async {
        #expect(await ShortPoll.wait(upTo: 0.2) { false } == false)
        #expect(await ShortPoll.wait(upTo: 0) { true })
    }

    @Test("a cancelled task still waits for its condition, sleeping between checks rather than spinning")
    func cancelledTaskStillWaits() async {
        let flag = LockedBox(false), checks = LockedBox(0)
        let clock = ContinuousClock(), start = clock.now
        let task = Task {
            await ShortPoll.wait(upTo: 120) {
                checks.withLock { $0 += 1 }
                return flag.value
            }
        }
        task.cancel()
        Self.setSoon(flag)
        // Returning early (false) would be giving up on the cancellation.
        #expect(await task.value)
        // Each check after the first follows a sleep of at least 1 ms, however busy the machine:
        // no more checks than milliseconds passed (a spinning loop makes thousands per ms).
        let elapsed = clock.now - start
        let milliseconds = Int(elapsed.components.seconds) * 1000 + Int(elapsed.components.attoseconds / 1_000_000_000_000_000)
        #expect(checks.value <= milliseconds + 1)
    }
}
