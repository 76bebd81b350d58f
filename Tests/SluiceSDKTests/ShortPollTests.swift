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

    @Test("a wait whose condition never holds gives up at its deadline, false")
    func givesUpAtTheDeadline() async {
        let start = ContinuousClock.now
        #expect(await ShortPoll.wait(upTo: 0.2) { false } == false)
        #expect(ContinuousClock.now - start >= .milliseconds(200))
        #expect(await ShortPoll.wait(upTo: 0) { true })
    }
}
