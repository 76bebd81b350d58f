import Foundation
import Testing
@testable import SluiceSDK

/// The read-ahead between a frame reader thread and its consumer is bounded by bytes.
@Suite("Bounded queue")
struct BoundedQueueTests {
    /// Whether a producer's `put` has returned.
    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        var isSet: Bool { lock.withLock { value } }
        func set() { lock.withLock { value = true } }
    }

    @Test("an element over the budget enters an empty queue; the next one waits until the queue is drained")
    func budgetInBytes() async throws {
        let queue = BoundedQueue<Int>(budget: 10)
        let secondPut = Flag()
        let producer = Thread {
            queue.put(1, cost: 64)
            queue.put(2, cost: 1)
            secondPut.set()
            queue.finish()
        }
        producer.start()
        // However long the producer runs, the 64-byte element fills the 10-byte budget alone.
        try await Task.sleep(for: .milliseconds(200))
        #expect(!secondPut.isSet)
        #expect(await queue.next() == 1)
        #expect(await queue.next() == 2)
        #expect(await queue.next() == nil)
        #expect(secondPut.isSet)
    }

    @Test("small elements queue up to the budget")
    func smallElements() async throws {
        let queue = BoundedQueue<Int>(budget: 100)
        for value in 0..<10 { #expect(queue.put(value, cost: 10)) }
        queue.finish()
        var received: [Int] = []
        while let value = await queue.next() { received.append(value) }
        #expect(received == Array(0..<10))
    }

    /// Stands for a decoded batch: its deinit tells that nothing holds it any more.
    final class Payload: Sendable {
        let released: Flag
        init(released: Flag) { self.released = released }
        deinit { released.set() }
    }

    @Test("an element taken from the queue is not kept alive by it (decoded batches were, up to 64 at a time)")
    func consumedElementsAreReleased() async throws {
        let queue = BoundedQueue<Payload>(budget: 1 << 20)
        let flags = (0 ..< 10).map { _ in Flag() }
        for flag in flags { queue.put(Payload(released: flag), cost: 1) }
        for index in 0 ..< 5 {
            _ = await queue.next()
            #expect(flags[index].isSet, "element \(index) released once taken")
        }
        #expect(!flags[5].isSet, "queued elements stay")
        queue.finish()
    }
}
