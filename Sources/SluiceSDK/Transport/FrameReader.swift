import Foundation
import SluiceWire

/// What a ``FrameReader`` delivers: a decoded message, or why reading stopped early.
enum InboundEvent<Message: Sendable>: Sendable {
    case message(Message)
    case protocolError(ProtocolError)
    case readFailed(String)
}

/// Reads frames from a file descriptor on a dedicated thread, decodes them, and hands them
/// over through a bounded queue, so blocking reads never occupy Swift's cooperative threads.
final class FrameReader<Message: Sendable>: @unchecked Sendable {
    let queue: BoundedQueue<InboundEvent<Message>>
    private let handle: FileHandle
    private let lock = NSLock()
    private var maxFrameSizeValue: Int
    private let decode: @Sendable ([UInt8]) throws(ProtocolError) -> Message
    /// Called on the reader thread before a message is queued; returning true consumes it.
    private let intercept: @Sendable (Message) -> Bool
    /// Bytes a decoded message keeps besides its decoded values (its frame's payload, kept for
    /// forwarding), counted against the read-ahead too.
    private let retained: @Sendable (Message) -> Int

    /// Bytes of frames read ahead by default: 1 MB, and a single frame however large (10,000
    /// rows of a mixed table are about 1.7 MB, so one default-sized batch waits while the next is
    /// read). Against 8 MB, pipelines and reads ran as fast, within the noise, with peak RSS about
    /// 10 MB lower per process (README, Benchmarks, stops 37 and 38).
    static var defaultReadAhead: Int { 1 << 20 }

    /// `readAhead`: the bytes of decoded frames queued before the reader waits (at least one
    /// frame is always queued); each message counts as its payload plus what it keeps
    /// besides (`retained`) plus ``messageOverhead``.
    init(handle: FileHandle, maxFrameSize: Int, readAhead: Int = defaultReadAhead,
         decode: @escaping @Sendable ([UInt8]) throws(ProtocolError) -> Message,
         retained: @escaping @Sendable (Message) -> Int = { _ in 0 },
         intercept: @escaping @Sendable (Message) -> Bool = { _ in false }) {
        self.handle = handle
        self.maxFrameSizeValue = maxFrameSize
        self.decode = decode
        self.retained = retained
        self.intercept = intercept
        self.queue = BoundedQueue(budget: readAhead)
    }

    /// The largest payload accepted; the handshake may change it for the frames after it.
    var maxFrameSize: Int {
        get { lock.withLock { maxFrameSizeValue } }
        set { lock.withLock { maxFrameSizeValue = newValue } }
    }

    /// What a queued message counts for beyond its payload, so that many small messages are
    /// bounded too.
    static var messageOverhead: Int { 256 }

    /// Payloads from this size on are read straight into place once their header arrived,
    /// rather than through the decoder's buffer (``FrameDecoder/takeIncompleteFrame(minimumLength:)``).
    static var directReadMinimum: Int { 64 << 10 }

    /// Starts the reader thread.
    func start(name: String) {
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    private func run() {
        var decoder = FrameDecoder(maxFrameSize: maxFrameSize)
        var input = DescriptorReader(descriptor: handle.fileDescriptor, chunkSize: Self.directReadMinimum)
        defer { queue.finish() }
        while true {
            let chunk: ArraySlice<UInt8>
            do {
                chunk = try input.read()
            } catch {
                queue.put(.readFailed(error.message))
                return
            }
            if chunk.isEmpty {
                do { try decoder.finish() } catch { queue.put(.protocolError(error)) }
                return
            }
            decoder.append(chunk)
            do {
                while true {
                    decoder.maxFrameSize = maxFrameSize
                    let payload: [UInt8]
                    if let whole = try decoder.nextFrame() {
                        payload = whole
                    } else if let incomplete = try decoder.takeIncompleteFrame(minimumLength: Self.directReadMinimum) {
                        do {
                            payload = try input.readRest(of: incomplete)
                        } catch {
                            queue.put(.readFailed(error.message))
                            return
                        }
                        guard payload.count == incomplete.length else {
                            queue.put(.protocolError(incomplete.truncated(received: payload.count)))
                            return
                        }
                    } else {
                        break
                    }
                    let frameNumber = decoder.framesDecoded
                    let message: Message
                    do {
                        message = try decode(payload)
                    } catch {
                        var located = error
                        located.frameNumber = frameNumber
                        located.byteOffset = decoder.nextFrameOffset - payload.count - Frame.headerSize
                        queue.put(.protocolError(located))
                        return
                    }
                    if intercept(message) { continue }
                    guard queue.put(.message(message), cost: payload.count + retained(message) + Self.messageOverhead) else { return }
                }
            } catch {
                queue.put(.protocolError(error))
                return
            }
        }
    }
}
