namespace ActorVpn.Credentials;

/// <summary>
/// Writes files that hold secrets (profiles, <c>admin.avpn</c>, <c>key-secret</c>, the console
/// authority) so that no one but the owner can ever read them: the bytes go to a new temporary
/// file in the same directory, created with mode 0600, which is then renamed over the target. So
/// the target never exists with a wider mode, a reader sees the old file or the whole new one, and
/// a symbolic link planted at the target is refused (a rename would replace it, never follow it).
/// </summary>
public static class SecretFiles
{
    /// <summary>Owner read and write: 0600.</summary>
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Owner read, write and search: 0700.</summary>
    public const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/>, replacing a regular file there.</summary>
    /// <exception cref="CredentialException"><paramref name="path"/> is a symbolic link or not a regular file.</exception>
    public static void Write(string path, string text) => Write(path, text, replace: true);

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/> only if nothing is there yet.</summary>
    /// <returns>false when <paramref name="path"/> already existed (it is left as it is).</returns>
    /// <exception cref="CredentialException"><paramref name="path"/> is a symbolic link or not a regular file.</exception>
    public static bool CreateNew(string path, string text) => Write(path, text, replace: false);

    /// <summary>
    /// Creates the directory (and missing parents) with mode 0700 where it is created; an existing
    /// one is left as it is (it may be the operator's own, e.g. the parent of <c>--out</c>).
    /// </summary>
    public static void CreateDirectory(string directory)
    {
        var full = Path.GetFullPath(directory);
        if (Directory.Exists(full))
        {
            return;
        }

        if (Path.GetDirectoryName(full) is { } parent)
        {
            CreateDirectory(parent);
        }

        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(full);
        }
        else
        {
            Directory.CreateDirectory(full, OwnerOnlyDirectory);
        }
    }

    /// <summary>
    /// A data directory (the store, the key secret, profiles, operator credentials): created 0700,
    /// or made 0700 if it exists with a wider mode.
    /// </summary>
    public static void PrivateDirectory(string directory)
    {
        CreateDirectory(directory);
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(directory) & ~OwnerOnlyDirectory) != 0)
        {
            File.SetUnixFileMode(directory, OwnerOnlyDirectory);
        }
    }

    /// <summary>
    /// Makes sure a file that others must not read (a SQLite store) exists with mode 0600 before
    /// its owner opens it: created empty with that mode, or narrowed to it.
    /// </summary>
    /// <exception cref="CredentialException"><paramref name="path"/> is a symbolic link or not a regular file.</exception>
    public static void PrivateFile(string path)
    {
        if (!CreateNew(path, string.Empty) && !OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & ~OwnerOnly) != 0)
        {
            File.SetUnixFileMode(path, OwnerOnly);
        }
    }

    private static bool Write(string path, string text, bool replace)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        CreateDirectory(directory);
        var existing = new FileInfo(full);
        if (existing.LinkTarget is not null)
        {
            throw new CredentialException($"{path} is a symbolic link (to {existing.LinkTarget}); refusing to write a secret through it");
        }

        if (existing.Exists || Directory.Exists(full))
        {
            if (Directory.Exists(full) || (existing.Attributes & (FileAttributes.Device | FileAttributes.ReparsePoint)) != 0)
            {
                throw new CredentialException($"{path} is not a regular file; refusing to write a secret there");
            }

            if (!replace)
            {
                return false;
            }
        }

        var temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly;
        }

        try
        {
            using (var stream = new FileStream(temporary, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(text);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }

            if (replace)
            {
                File.Move(temporary, full, overwrite: true);
            }
            else
            {
                try
                {
                    File.Move(temporary, full, overwrite: false);
                }
                catch (IOException) when (File.Exists(full) || new FileInfo(full).LinkTarget is not null)
                {
                    return false; // created meanwhile by someone else: theirs stands
                }
            }

            return true;
        }
        finally
        {
            File.Delete(temporary); // gone after a successful move; a leftover after a failure
        }
    }
}
