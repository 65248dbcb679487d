package daemon

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/weftos/weftos/internal/apikey"
	"github.com/weftos/weftos/internal/channels"
	"github.com/weftos/weftos/internal/channels/discord"
	"github.com/weftos/weftos/internal/channels/slack"
	"github.com/weftos/weftos/internal/channels/telegram"
	"github.com/weftos/weftos/internal/config"
)

// startChannels starts every configured chat channel under the
// supervisor; one whose secret is missing is shown, not started.
func (d *Daemon) startChannels() error {
	ctx, cancel := context.WithCancel(context.Background())
	d.gw.stop = cancel
	for _, cc := range d.cfg.Channels {
		token, err := apikey.Load(os.Getenv, cc.TokenEnv, cc.TokenFile)
		if err == nil && token == "" {
			err = fmt.Errorf("its token is not set (%s)", secretRef(cc.TokenEnv, cc.TokenFile))
		}
		if err != nil {
			d.gw.sup.Add(cc.Name, cc.Kind, channels.StateNoSecret, err.Error())
			d.log.Warn("chat channel not started", "channel", cc.Name, "err", err)
			continue
		}
		ch, err := d.newChannel(cc, token)
		if err != nil {
			cancel()
			return err
		}
		d.gw.sup.Start(ctx, ch)
		if sl, ok := ch.(*slack.App); ok {
			// The Events API reaches the app through the gateway.
			if d.gw.handlers == nil {
				d.gw.handlers = map[string]http.Handler{}
			}
			d.gw.handlers["POST /hooks/slack/"+cc.Name] = http.HandlerFunc(sl.ServeEvents)
		}
	}
	return nil
}

// secretRef names where a secret is expected, never its value.
func secretRef(env, file string) string {
	switch {
	case env != "" && file != "":
		return "$" + env + " or " + file
	case env != "":
		return "$" + env
	}
	return file
}

// newChannel builds the channel of a configured kind.
func (d *Daemon) newChannel(cc config.Channel, token string) (channels.Channel, error) {
	clog := d.log.With("layer", "channels", "channel", cc.Name)
	switch cc.Kind {
	case "slack":
		app, err := apikey.Load(os.Getenv, cc.AppTokenEnv, cc.AppTokenFile)
		if err != nil {
			return nil, fmt.Errorf("daemon: channel %s: %w", cc.Name, err)
		}
		secret, err := apikey.Load(os.Getenv, cc.SigningSecretEnv, cc.SigningSecretFile)
		if err != nil {
			return nil, fmt.Errorf("daemon: channel %s: %w", cc.Name, err)
		}
		api := ""
		if cc.BaseURL != "" {
			api = strings.TrimRight(cc.BaseURL, "/") + "/"
		}
		return slack.New(slack.Options{Name: cc.Name, BotToken: token, AppToken: app, SigningSecret: secret, APIURL: api,
			Clock: d.opts.Clock, Log: clog}), nil
	case "discord":
		return discord.New(discord.Options{Name: cc.Name, Token: token, REST: discord.NewREST(cc.BaseURL, token, nil, d.opts.Clock),
			Clock: d.opts.Clock, Log: clog}), nil
	case "telegram":
		return telegram.New(telegram.Options{Name: cc.Name, Client: telegram.NewClient(cc.BaseURL, token, nil, d.opts.Clock),
			Clock: d.opts.Clock, Log: clog}), nil
	}
	return nil, fmt.Errorf("daemon: channel %s: kind %q is not built in", cc.Name, cc.Kind)
}
