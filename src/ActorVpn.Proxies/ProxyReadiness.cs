using Akka.Actor;
using static ActorVpn.Proxies.ProxyProtocol;

namespace ActorVpn.Proxies;

/// <summary>
/// Waiting for a proxy to listen, as a starting node does before it says it is ready. A proxy that
/// does not come up in time is named with the reason it gives (its last enrolment failure), or as not
/// answering at all, never as a bare ask timeout that names nothing.
/// </summary>
public static class ProxyReadiness
{
    private static readonly TimeSpan DefaultAnswerWithin = TimeSpan.FromSeconds(5);

    /// <summary>The address <paramref name="proxy"/> listens on, once it has its identity.</summary>
    /// <param name="answerWithin">How long the proxy has to say why it is not listening, once <paramref name="timeout"/> is over.</param>
    /// <param name="envelope">Wraps each message for <paramref name="proxy"/> when it is reached through another actor (its parent); null: sent as is.</param>
    /// <exception cref="ProxyNotListeningException">Not listening within <paramref name="timeout"/>.</exception>
    public static async Task<string> AwaitListeningAsync(ICanTell proxy, string name, TimeSpan timeout, TimeSpan? answerWithin = null, Func<object, object>? envelope = null)
    {
        envelope ??= message => message;
        try
        {
            return (await proxy.Ask<ProxyListening>(envelope(AwaitListening.Instance), timeout)).Address;
        }
        catch (AskTimeoutException)
        {
            throw new ProxyNotListeningException(name, timeout, await DescribeAsync(proxy, name, answerWithin ?? DefaultAnswerWithin, envelope));
        }
    }

    private static async Task<string> DescribeAsync(ICanTell proxy, string name, TimeSpan answerWithin, Func<object, object> envelope)
    {
        try
        {
            return (await proxy.Ask<ProxyEnrolmentState>(envelope(GetEnrolmentState.Instance), answerWithin)).Describe();
        }
        catch (AskTimeoutException)
        {
            return $"proxy {name} did not answer within {answerWithin.TotalSeconds:0.#} s either (its actor is not running, or never got to run)";
        }
    }
}

/// <summary>A proxy that did not come up in time, with the reason it gave.</summary>
public sealed class ProxyNotListeningException(string proxy, TimeSpan timeout, string why)
    : Exception($"proxy {proxy} was not listening within {timeout.TotalSeconds:0.#} s: {why}")
{
    public string Proxy { get; } = proxy;
}
