using ActorVpn.AuthServers.HandOff;
using ActorVpn.Client;
using ActorVpn.Protocol;
using Akka.Actor;

namespace ActorVpn.Testing;

public sealed partial class ClusterScenario
{
    /// <summary>Records the patent steps and client sessions of every node.</summary>
    private sealed class StepLog
    {
        private readonly List<HandOffStepReached> _steps = [];
        private readonly List<string> _established = [];
        private int _closed;

        public void Attach(ActorSystem system)
        {
            var recorder = system.ActorOf(Props.Create(() => new Recorder(this)), "scenario-recorder");
            system.EventStream.Subscribe(recorder, typeof(HandOffStepReached));
            system.EventStream.Subscribe(recorder, typeof(ClientProtocol.SessionEstablished));
            system.EventStream.Subscribe(recorder, typeof(ClientProtocol.SessionClosed));
        }

        public List<HandOffStepReached> Steps()
        {
            lock (_steps)
            {
                return _steps.ToList();
            }
        }

        public (List<string> Established, int Closed) Sessions()
        {
            lock (_steps)
            {
                return (_established.ToList(), _closed);
            }
        }

        private sealed class Recorder : ReceiveActor
        {
            public Recorder(StepLog log)
            {
                Receive<HandOffStepReached>(s =>
                {
                    lock (log._steps)
                    {
                        log._steps.Add(s);
                    }
                });
                Receive<ClientProtocol.SessionEstablished>(s =>
                {
                    lock (log._steps)
                    {
                        log._established.Add(s.Destination);
                    }
                });
                Receive<ClientProtocol.SessionClosed>(_ =>
                {
                    lock (log._steps)
                    {
                        log._closed++;
                    }
                });
            }
        }
    }
}
