# frozen_string_literal: true

module UcrawlerNative
  class Web
    # A tab in Sidekiq's Web UI leading to the dashboard, which stays mounted on its own path with
    # its own access rule. Sidekiq 6 links custom tabs under its own mount point, so the tab is
    # a route of Sidekiq::Web ("ucrawler") redirecting to the dashboard:
    #
    #   require "sidekiq/web"
    #   UcrawlerNative::Web.sidekiq_tab!("/crawler")  # in an initializer
    module SidekiqTab
      ROUTE = "ucrawler"
      @target = nil

      class << self
        # Where the tab leads: a path of this app ("/crawler") or a full URL.
        attr_reader :target

        def install(path:, title:)
          unless defined?(::Sidekiq::Web) && ::Sidekiq::Web.respond_to?(:register)
            raise ConfigError, "sidekiq_tab!: Sidekiq::Web is not loaded (require \"sidekiq/web\" first)"
          end
          unless path.is_a?(String) && path.match?(%r{\A(/|https?://)})
            raise ConfigError, "sidekiq_tab!: path must be the dashboard's mount path (\"/crawler\") or URL (got #{path.inspect})"
          end

          first = @target.nil?
          @target = path.dup.freeze
          ::Sidekiq::Web.register(self) if first
          ::Sidekiq::Web.tabs.delete_if { |_title, route| route == ROUTE }
          ::Sidekiq::Web.tabs[title] = ROUTE
        end

        # Sidekiq::Web.register calls this with its application class.
        def registered(app)
          app.get("/#{ROUTE}") do
            target = SidekiqTab.target
            location = target.start_with?("/") ? "#{request.base_url}#{target}" : target
            throw :halt, [302, { "Location" => location, "Content-Type" => "text/plain" }, []]
          end
        end
      end
    end
  end
end
