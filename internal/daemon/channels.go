//go:build !nochannels && !nollm

package daemon

import (
	"context"
	"errors"
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
		if errors.Is(err, errNoSecret) {
			d.gw.sup.Add(cc.Name, cc.Kind, channels.StateNoSecret, err.Error())
			d.log.Warn("chat channel not started", "channel", cc.Name, "err", err)
			continue
		}
		if err != nil {
			cancel()
			return err
		}
		d.gw.sup.Start(ctx, ch)
		// Platforms that call back reach their channel through the gateway.
		if d.gw.handlers == nil {
			d.gw.handlers = map[string]http.Handler{}
		}
		switch ch := ch.(type) {
		case *slack.App:
			d.gw.handlers["POST /hooks/slack/"+cc.Name] = http.HandlerFunc(ch.ServeEvents)
		case *telegram.Bot:
			if cc.WebhookURL != "" {
				d.gw.handlers["POST /hooks/telegram/"+cc.Name] = http.HandlerFunc(ch.ServeWebhook)
			}
		}
	}
	return nil
}

// errNoSecret: a secret the channel needs is not set.
var errNoSecret = errors.New("a secret is not set")

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
	clog := d.log.With("layer", "channels")
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
		if app == "" && secret == "" {
			return nil, fmt.Errorf("%w: neither the app token (%s) nor the signing secret (%s)", errNoSecret,
				secretRef(cc.AppTokenEnv, cc.AppTokenFile), secretRef(cc.SigningSecretEnv, cc.SigningSecretFile))
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
		secret, err := apikey.Load(os.Getenv, cc.SigningSecretEnv, cc.SigningSecretFile)
		if err != nil {
			return nil, fmt.Errorf("daemon: channel %s: %w", cc.Name, err)
		}
		if cc.WebhookURL != "" && secret == "" {
			return nil, fmt.Errorf("%w: the webhook's secret token (%s)", errNoSecret, secretRef(cc.SigningSecretEnv, cc.SigningSecretFile))
		}
		return telegram.New(telegram.Options{Name: cc.Name, Client: telegram.NewClient(cc.BaseURL, token, nil, d.opts.Clock),
			WebhookURL: cc.WebhookURL, WebhookSecret: secret, Clock: d.opts.Clock, Log: clog}), nil
	}
	return nil, fmt.Errorf("daemon: channel %s: kind %q is not built in", cc.Name, cc.Kind)
}
