import Foundation
@testable import SluiceSDK
import Testing

@Suite struct ShortPollTests {
    @Test("a wait ends once its condition holds, long before its deadline")
    func endsWhenTheConditionHolds() async {
        let start = ContinuousClock.now
        let flag = LockedBox(false)
        Task {
            try await Task.sleep(for: .milliseconds(30))
            flag.value = true
        }
        #expect(await ShortPoll.wait(upTo: 120) { flag.value })
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    @Test("a cancelled task still waits for its deadline, sleeping rather than spinning")
    func cancelledTaskStillWaits() async {
        let checks = LockedBox(0)
        let task = Task {
            await ShortPoll.wait(upTo: 0.3) {
                checks.withLock { $0 += 1 }
                return false
            }
        }
        task.cancel()
        let start = ContinuousClock.now
        #expect(await task.value == false)
        #expect(ContinuousClock.now - start >= .milliseconds(250))
        // 1, 2, 4, 8 ms, then 10 ms steps: a few dozen checks in 0.3 s, not millions.
        #expect(checks.value < 200)
    }

    @Test("a wait whose condition never holds gives up at its deadline, false")
    func givesUpAtTheDeadline() async {
        let start = ContinuousClock.now
        #expect(await ShortPoll.wait(upTo: 0.2) { false } == false)
        #expect(ContinuousClock.now - start >= .milliseconds(200))
        #expect(await ShortPoll.wait(upTo: 0) { true })
    }
}
