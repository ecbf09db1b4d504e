using System.Text.RegularExpressions;
using ActorVpn.Topology.Hocon;

namespace ActorVpn.Topology;

/// <summary>
/// Reads and validates a topology file. Every problem is reported as a
/// <see cref="TopologyException"/> naming the file, the HOCON path and what is wrong; nothing here
/// lets a parser's stack trace reach the user.
/// </summary>
public static partial class TopologyLoader
{
    public const string RootPath = "actorvpn.topology";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")]
    private static partial Regex NamePattern();

    public static bool IsValidName(string name) => NamePattern().IsMatch(name);

    public static TopologyModel LoadFile(string path)
    {
        string text;
        try
        {
            if (System.IO.Directory.Exists(path))
            {
                throw new TopologyException(path, "(file)", "cannot read the topology file: it is a directory; give the HOCON file itself");
            }

            text = System.IO.File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new TopologyException(path, "(file)", "cannot read the topology file: no such file (hocon/topology.example.hocon shows the format)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new TopologyException(path, "(file)", $"cannot read the topology file: {e.Message}");
        }

        return LoadText(text, path);
    }

    public static TopologyModel LoadText(string text, string source) => TopologyReader.Load(text, source);

    /// <inheritdoc cref="HoconPreLexer.NormalizeObjectCommas"/>
    internal static string NormalizeObjectCommas(string text) => HoconPreLexer.NormalizeObjectCommas(text);

    /// <inheritdoc cref="HoconPreLexer.UnbalancedBracket"/>
    public static string? UnbalancedBracket(string text) => HoconPreLexer.UnbalancedBracket(text);

    /// <inheritdoc cref="TopologyWriter.ToHocon"/>
    public static string ToHocon(TopologyModel model) => TopologyWriter.ToHocon(model);
}
