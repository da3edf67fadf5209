# frozen_string_literal: true

# Crawler defaults may be set in an initializer too (the Railtie reads them after initializers).
Rails.application.config.ucrawler_native.timeout = 10
