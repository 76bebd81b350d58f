import Foundation

/// A queue between one producer thread and one async consumer, bounded so that a fast
/// producer blocks instead of growing memory. `put` blocks the calling thread while full.
final class BoundedQueue<Element: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Element] = []
    private var head = 0
    private let capacity: Int
    private var waiter: CheckedContinuation<Element?, Never>?
    private var finished = false

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Adds an element, blocking while the queue is full. Returns false once finished.
    @discardableResult
    func put(_ element: Element) -> Bool {
        condition.lock()
        while items.count - head >= capacity && !finished {
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
        items.append(element)
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
        let element = items[head]
        head += 1
        if head >= 64 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        condition.signal()
        return element
    }
}
