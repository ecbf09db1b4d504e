using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace ActorVpn.Wire;

/// <summary>
/// Linux <c>splice(2)</c>: moves a middle proxy's bytes socket → pipe → socket inside the kernel, so they never enter
/// user space. A middle proxy only relays the client's inner TLS session as ciphertext (Fig. 6, step 608), so there is
/// nothing for it to look at. Everywhere else (another OS, a blocking socket, an old kernel) the relay copies instead.
/// </summary>
internal static class KernelSplice
{
    /// <summary>What one pipe holds; one splice call moves at most this much.</summary>
    public const int PipeBytes = 256 * 1024;

    private const uint SpliceMove = 1;
    private const uint SpliceNonBlock = 2;
    private const int OCloexec = 0x80000;
    private const int ONonBlock = 0x800;
    private const int FGetFl = 3;
    private const int FSetPipeSize = 1031;
    private const int EIntr = 4;
    private const int EAgain = 11;

    /// <summary>Idle pipes kept for the next burst; beyond this many they are closed, so idle relays hold no pipe.</summary>
    private const int PoolLimit = 32;

    private static readonly ConcurrentQueue<Pipe> Pool = new();
    private static int _pooled;

    public static bool IsSupported { get; } = OperatingSystem.IsLinux() && Probe();

    /// <summary>Both sockets are in non-blocking mode (the runtime's async I/O sets it), so a splice never blocks a thread.</summary>
    public static bool Usable(Socket a, Socket b) => IsSupported && NonBlocking(a) && NonBlocking(b);

    /// <summary>Socket → pipe. Returns the bytes moved, 0 at EOF, or -1 if none had arrived (the read would block).</summary>
    public static int Fill(Socket source, Pipe pipe) => Move(source.SafeHandle, pipe.WriteFd, PipeBytes);

    /// <summary>Pipe → socket. Returns the bytes moved, or -1 if the socket's send buffer is full.</summary>
    public static int Drain(Pipe pipe, Socket target, int count) => Move(pipe.ReadFdHandle, target.SafeHandle, count);

    /// <summary>Takes up to <paramref name="into"/>.Length bytes out of the pipe (when the target must be awaited in user space).</summary>
    public static int Take(Pipe pipe, Span<byte> into)
    {
        while (true)
        {
            var n = Read(pipe.ReadFd, ref MemoryMarshal.GetReference(into), (nuint)into.Length);
            if (n >= 0)
            {
                return (int)n;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno != EIntr)
            {
                throw new SocketException(errno);
            }
        }
    }

    public static Pipe Rent()
    {
        if (Pool.TryDequeue(out var pipe))
        {
            Interlocked.Decrement(ref _pooled);
            return pipe;
        }

        return Pipe.Create();
    }

    /// <summary>Gives back an empty pipe.</summary>
    public static void Return(Pipe pipe)
    {
        if (Interlocked.Increment(ref _pooled) <= PoolLimit)
        {
            Pool.Enqueue(pipe);
            return;
        }

        Interlocked.Decrement(ref _pooled);
        pipe.Dispose();
    }

    private static int Move(SafeHandle from, SafeHandle to, int count)
    {
        // Holding a reference keeps the descriptors from being closed (and their numbers reused) while the kernel uses them;
        // a teardown meanwhile closes them when the call returns.
        var (fromHeld, toHeld) = (false, false);
        try
        {
            from.DangerousAddRef(ref fromHeld);
            to.DangerousAddRef(ref toHeld);
            return Move((int)from.DangerousGetHandle(), (int)to.DangerousGetHandle(), count);
        }
        finally
        {
            if (toHeld)
            {
                to.DangerousRelease();
            }

            if (fromHeld)
            {
                from.DangerousRelease();
            }
        }
    }

    private static int Move(SafeHandle from, int to, int count)
    {
        var held = false;
        try
        {
            from.DangerousAddRef(ref held);
            return Move((int)from.DangerousGetHandle(), to, count);
        }
        finally
        {
            if (held)
            {
                from.DangerousRelease();
            }
        }
    }

    private static int Move(int from, int to, int count)
    {
        while (true)
        {
            var n = SpliceNative(from, IntPtr.Zero, to, IntPtr.Zero, (nuint)count, SpliceMove | SpliceNonBlock);
            if (n >= 0)
            {
                return (int)n;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno == EAgain)
            {
                return -1;
            }

            if (errno != EIntr)
            {
                throw new SocketException(errno);
            }
        }
    }

    private static bool NonBlocking(Socket socket)
    {
        var held = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref held);
            var flags = Fcntl((int)socket.SafeHandle.DangerousGetHandle(), FGetFl, 0);
            return flags >= 0 && (flags & ONonBlock) != 0;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            if (held)
            {
                socket.SafeHandle.DangerousRelease();
            }
        }
    }

    private static bool Probe()
    {
        try
        {
            Return(Pipe.Create());
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or SocketException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "splice", SetLastError = true)]
    private static extern nint SpliceNative(int fdIn, IntPtr offIn, int fdOut, IntPtr offOut, nuint len, uint flags);

    [DllImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    private static extern int Pipe2([Out] int[] fds, int flags);

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int Fcntl(int fd, int cmd, int arg);

    [DllImport("libc", EntryPoint = "read", SetLastError = true)]
    private static extern nint Read(int fd, ref byte buffer, nuint count);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);

    /// <summary>A kernel pipe: the buffer a splice moves bytes through.</summary>
    internal sealed class Pipe : IDisposable
    {
        private Pipe(int readFd, int writeFd)
        {
            ReadFd = readFd;
            WriteFd = writeFd;
            ReadFdHandle = new PipeEnd(readFd);
        }

        public int ReadFd { get; }

        public int WriteFd { get; }

        /// <summary>The read end as a handle, so <see cref="Move(SafeHandle, SafeHandle, int)"/> treats both directions alike.</summary>
        public SafeHandle ReadFdHandle { get; }

        public static Pipe Create()
        {
            var fds = new int[2];
            if (Pipe2(fds, OCloexec | ONonBlock) != 0)
            {
                throw new SocketException(Marshal.GetLastPInvokeError());
            }

            // A larger pipe moves more per call; an unprivileged process may be refused, and the default 64 KiB still works.
            _ = Fcntl(fds[1], FSetPipeSize, PipeBytes);
            return new Pipe(fds[0], fds[1]);
        }

        public void Dispose()
        {
            ReadFdHandle.Dispose();
            _ = Close(WriteFd);
        }
    }

    private sealed class PipeEnd : SafeHandle
    {
        public PipeEnd(int fd)
            : base(IntPtr.Zero, ownsHandle: true) => SetHandle(fd);

        public override bool IsInvalid => handle == IntPtr.Zero;

        protected override bool ReleaseHandle() => KernelSplice.Close((int)handle) == 0;
    }
}
