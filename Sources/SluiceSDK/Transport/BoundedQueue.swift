import Foundation

/// A queue between one producer thread and one async consumer, bounded by the bytes its
/// elements stand for (not their count), so that a fast producer blocks instead of growing
/// memory, whatever the size of each element. `put` blocks the calling thread while the
/// queued elements hold `budget` bytes or more; an element is always admitted to an empty
/// queue, however large.
final class BoundedQueue<Element: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    /// Queued elements from `head` on; a slot is emptied as its element is taken, so a consumed
    /// element (a decoded batch of megabytes) is not kept alive until the array is compacted.
    private var items: [(element: Element?, cost: Int)] = []
    private var head = 0
    private let budget: Int
    /// The bytes of the queued elements.
    private var queuedCost = 0
    private var waiter: CheckedContinuation<Element?, Never>?
    private var finished = false

    init(budget: Int) {
        self.budget = max(1, budget)
    }

    /// Adds an element standing for `cost` bytes, blocking while the queue holds its budget.
    /// Returns false once finished.
    @discardableResult
    func put(_ element: Element, cost: Int = 0) -> Bool {
        condition.lock()
        while head < items.count && queuedCost + cost > budget && !finished {
            condition.wait()
        }
        guard !finished else {
            condition.unlock()
            return false
        }
        if let waiter {
            self.waiter = nil
            condition.unlock()
            waiter.resume(returning: element)
            return true
        }
        items.append((element, cost))
        queuedCost += cost
        condition.unlock()
        return true
    }

    /// Ends the queue: the consumer gets the remaining elements, then `nil`.
    func finish() {
        condition.lock()
        finished = true
        let waiter = self.waiter
        self.waiter = nil
        condition.broadcast()
        condition.unlock()
        waiter?.resume(returning: nil)
    }

    /// The next element, or `nil` once finished and empty (or when the waiting task is cancelled).
    func next() async -> Element? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Element?, Never>) in
                condition.lock()
                if let element = popLocked() {
                    condition.unlock()
                    continuation.resume(returning: element)
                } else if finished || Task.isCancelled {
                    condition.unlock()
                    continuation.resume(returning: nil)
                } else {
                    waiter = continuation
                    condition.unlock()
                }
            }
        } onCancel: {
            condition.lock()
            let waiter = self.waiter
            self.waiter = nil
            condition.unlock()
            waiter?.resume(returning: nil)
        }
    }

    private func popLocked() -> Element? {
        guard head < items.count else { return nil }
        let (element, cost) = items[head]
        items[head].element = nil
        queuedCost -= cost
        head += 1
        if head >= 64 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        condition.signal()
        return element
    }
}
